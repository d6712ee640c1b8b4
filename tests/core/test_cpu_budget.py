"""The inspection's CPU budget: past it, an upload is refused as too costly to check."""

from __future__ import annotations

import io

from fpmreg.core.archive import DEFAULT_LIMITS, ArchiveLimits
from fpmreg.core.checks import inspect_package
from tests.data.realistic import all_packages
from tests.support.tarballs import manifest, tarball


def _many_files() -> bytes:
    files = {f"src/f{i:04}.f90": f"module bad_{i}\n" for i in range(200)}
    return tarball({"fpm.toml": manifest("adv", "1.0.0"), **files})


def test_a_package_over_the_cpu_budget_is_refused_with_what_to_do() -> None:
    limits = ArchiveLimits(cpu_fixed_s=0.0, cpu_per_byte_s=0.0)
    problems = inspect_package(io.BytesIO(_many_files()), limits=limits).problems
    assert [(p.code, p.field) for p in problems] == [("archive-too-costly", "tarball")]
    assert "too costly to check" in problems[0].message
    assert problems[0].message.endswith("split it, or remove generated files")


def test_the_default_budget_is_a_fixed_second_plus_a_share_per_byte() -> None:
    assert DEFAULT_LIMITS.cpu_budget(0) == 2.0
    assert DEFAULT_LIMITS.cpu_budget(DEFAULT_LIMITS.max_compressed_bytes) > 5.0


def test_every_realistic_package_passes_the_default_budget() -> None:
    for package in all_packages():
        codes = [p.code for p in inspect_package(io.BytesIO(package.data())).problems]
        assert "archive-too-costly" not in codes, package.name
