"""Uploads built to make the checks slow or their answer huge: cheap, and answered small.

Each package here comes from an attacker's probe of the registry. The timeouts are
generous (the checks take milliseconds now); before, these took from seconds to
minutes, or crashed. Speed itself is measured by `make bench` (`bench/adversarial.py`).
"""

from __future__ import annotations

import io
import random
import tarfile

import pytest

from fpmreg.core.archive import MAX_PATH_BYTES, read_archive
from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.checks import Inspection, inspect_package
from fpmreg.core.manifest import parse_manifest
from fpmreg.core.problem import MAX_MESSAGE_CHARS, MAX_PROBLEMS_PER_CODE, Problem
from fpmreg.core.sources import MAX_MODULES_PER_FILE, fortran_modules
from tests.data.corpus import BUILD_TABLE, ELF, Entry, fpm_toml, gz, targz, with_files

# What a refusal of the worst package may weigh: a few dozen problems, a few KB of text.
ANSWER_PROBLEMS = 4 * (MAX_PROBLEMS_PER_CODE + 1)
ANSWER_CHARS = 16 * 1024


def inspect(data: bytes) -> Inspection:
    return inspect_package(io.BytesIO(data))


def assert_small(problems: list[Problem]) -> None:
    assert len(problems) <= ANSWER_PROBLEMS, len(problems)
    assert sum(len(p.message) + len(p.field) for p in problems) <= ANSWER_CHARS
    for code in {p.code for p in problems}:
        assert sum(p.code == code for p in problems) <= MAX_PROBLEMS_PER_CODE + 1


@pytest.mark.timeout(30)
def test_the_2kb_probe_of_95000_module_lines_is_refused_as_a_bomb() -> None:
    data = targz(with_files({"src/many.f90": "module m\n" * 95_000}))
    assert len(data) < 4096  # what the probe uploaded: it compresses to almost nothing
    problems = inspect(data).problems
    assert [p.code for p in problems] == ["archive-too-large-uncompressed"]


@pytest.mark.timeout(30)
def test_95000_module_lines_are_checked_and_answered_in_a_few_problems() -> None:
    # Random bytes make the upload big enough for its ratio to pass the bomb limit.
    noise = random.Random(5).randbytes(6 * 1024)
    data = targz(with_files({"src/many.f90": "module m\n" * 95_000, "data/noise.bin": noise}))
    problems = inspect(data).problems
    assert_small(problems)
    crowded = [p for p in problems if p.code == "source-too-many-modules"]
    assert [p.field for p in crowded] == ["src/many.f90"]
    assert f"more than {MAX_MODULES_PER_FILE:,} modules" in crowded[0].message
    named = [p for p in problems if p.code == "module-name"]
    assert len(named) == MAX_PROBLEMS_PER_CODE + 1
    assert named[0].message.startswith("module `m` in `src/many.f90` (line 1)")
    more = MAX_MODULES_PER_FILE - MAX_PROBLEMS_PER_CODE
    assert named[-1].message.startswith(f"and {more:,} more")


def test_line_numbers_stay_right_far_into_a_file() -> None:
    text = "! comment\n" * 50_000 + "module far_away\n" + "x = 1\n" * 10 + "module farther\n"
    found = fortran_modules("src/x.f90", text.encode())
    assert [(d.name, d.line) for d in found] == [("far_away", 50_001), ("farther", 50_012)]


def test_module_declared_at_the_start_of_a_very_long_line_is_still_seen() -> None:
    text = "module hello__ok\nmodule evil " + " " * 2_000_000 + "\n"
    assert [d.name for d in fortran_modules("src/x.f90", text.encode())] == ["hello__ok", "evil"]


@pytest.mark.timeout(60)
def test_thousands_of_bad_files_get_an_answer_of_bounded_size() -> None:
    files: dict[str, str | bytes | None] = {}
    for i in range(3_000):
        files[f"src/m{i:04}.f90"] = f"module bad_{i}\nend module\n"
        files[f"lib/b{i:04}.o"] = ELF
    problems = inspect(targz(with_files(files), level=1)).problems
    assert_small(problems)
    assert {p.code for p in problems} == {"module-name", "build-output"}
    assert problems[-1].message.startswith(f"and {3_000 - MAX_PROBLEMS_PER_CODE:,} more")


def test_a_very_long_member_name_is_refused_and_quoted_short() -> None:
    name = "doc/" + "x" * 60_000 + ".md"
    archive = read_archive(io.BytesIO(targz([*with_files({}), Entry(name, "x")])))
    (problem,) = archive.problems
    assert problem.code == "archive-path-too-long"
    assert len(problem.message) < 400
    assert problem.message.startswith("archive member `doc/xxx")


def test_every_message_is_cut_to_the_limit() -> None:
    key = "k" * 200_000
    parsed = parse_manifest(f'name = "hello"\nversion = "1.0.0"\n{key} = 1\n')
    problems = inspect(targz(with_files({"fpm.toml": f"{key} = 1\n" + fpm_toml()}))).problems
    assert parsed.problems[0].code == "manifest-key"  # the parser itself keeps the key
    (problem,) = [p for p in problems if p.code == "manifest-key"]
    assert len(problem.message) <= MAX_MESSAGE_CHARS
    assert problem.message.startswith("Key kkk") and problem.message.endswith("package file")


def _pax_package(headers: dict[str, str], members: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in with_files({}):
            data = entry.data.encode() if isinstance(entry.data, str) else entry.data
            info = tarfile.TarInfo(entry.name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for i in range(members):
            info = tarfile.TarInfo(f"doc/n{i}.md")
            info.pax_headers = headers
            tar.addfile(info, io.BytesIO(b""))
    return gz(buffer.getvalue())


@pytest.mark.timeout(30)
def test_pax_headers_of_digits_are_refused_without_quadratic_parsing() -> None:
    # CPython's pax parser searched 60,000 digits for `hdrcharset` in 4 s a header.
    data = _pax_package({"comment": "1" * 60_000}, 20)
    assert len(data) < 16 * 1024
    assert [p.code for p in inspect(data).problems] == ["archive-corrupt"]


def test_thousands_of_chained_pax_headers_are_refused_not_a_recursion_error() -> None:
    from tests.data.corpus import CASES_BY_NAME

    problems = inspect(CASES_BY_NAME["pax-header-chain"].data()).problems
    assert [p.code for p in problems] == ["archive-corrupt"]
    assert "more than 4 extended headers in a row" in problems[0].message


def test_pax_headers_as_tar_writes_them_are_read() -> None:
    data = _pax_package({"comment": "fpmreg 1700000000.123456789", "path": "doc/é.md"}, 1)
    archive = read_archive(io.BytesIO(data))
    assert archive.problems == []
    assert "doc/é.md" in archive.members


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "tail",
    [
        pytest.param("x = " + "[" * 5_000 + "]" * 5_000 + "\n", id="arrays"),
        pytest.param("x = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n", id="inline-tables"),
        pytest.param("[extra." + ".".join(["a"] * 20_000) + "]\nx = 1\n", id="table-header"),
        pytest.param("extra." + ".".join(["a"] * 20_000) + " = 1\n", id="dotted-key"),
        pytest.param("[extra]\n" + "a." * 20 + "b = " + "[" * 20 + "]" * 20 + "\n", id="mixed"),
    ],
)
def test_deeply_nested_manifest_is_refused_with_a_stable_code(tail: str) -> None:
    parsed = parse_manifest(fpm_toml(BUILD_TABLE) + tail)
    assert parsed.manifest is None
    assert [(p.code, p.field) for p in parsed.problems] == [("manifest-too-deep", "fpm.toml")]
    assert "more than 32 levels deep" in parsed.problems[0].message


@pytest.mark.parametrize(
    "tail",
    [
        '[profiles.release.gfortran.linux]\nflags = "-O3"\n',
        "[extra.x]\ny = [[1, 2], [3, [4, 5]]]\nz = { a = { b = [1] } }\n",
        'description2 = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n',
        "s = '''" + "[" * 100 + "'''\nt = \"\"\"a.b.c.d\n" + "{" * 100 + '"""\n',
        "# " + "[" * 100 + "\nu = 1.5\n",
    ],
)
def test_manifests_nesting_as_real_ones_do_are_not_too_deep(tail: str) -> None:
    parsed = parse_manifest(fpm_toml(BUILD_TABLE) + tail)
    assert "manifest-too-deep" not in [p.code for p in parsed.problems]


def test_new_refusals_are_in_the_catalogue() -> None:
    for code in (
        "archive-trailing-data",
        "archive-path-too-long",
        "archive-path-too-deep",
        "manifest-too-deep",
        "source-too-many-modules",
    ):
        assert CATALOGUE[code].severity == "error"


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(lambda d: d + gz(b"\0" * 1024), id="second-gzip-member-of-zeros"),
        pytest.param(lambda d: d + b"\0", id="a-zero-byte-after-gzip"),
        pytest.param(lambda d: d + b"PK\x03\x04", id="zip-after-gzip"),
    ],
)
def test_anything_after_the_gzip_member_is_refused(tail: object) -> None:
    data = tail(targz(with_files({})))  # type: ignore[operator]
    assert [p.code for p in read_archive(io.BytesIO(data)).problems] == ["archive-trailing-data"]


def test_zero_padding_after_the_end_of_archive_is_fine() -> None:
    from tests.data.corpus import tar_bytes

    data = gz(tar_bytes(with_files({})) + bytes(64 * 1024))
    assert read_archive(io.BytesIO(data)).problems == []


def test_a_damaged_header_after_the_first_member_is_refused() -> None:
    from tests.data.corpus import tar_bytes

    raw = tar_bytes(with_files({}))
    end = len(raw) - raw[::-1].index(next(b for b in raw[::-1] if b)) if any(raw) else 0
    end = (end + 511) // 512 * 512  # the end of the last member
    damaged = raw[:end] + b"garbage!" * 64 + tar_bytes([Entry("x", type=tarfile.SYMTYPE)])
    problems = read_archive(io.BytesIO(gz(damaged))).problems
    assert [p.code for p in problems] == ["archive-corrupt"]
    assert "damaged tar header" in problems[0].message


def test_path_limits_are_what_common_file_systems_take() -> None:
    ok = "/".join(["d"] * 31) + "/" + "n" * 255
    assert len(ok.encode()) <= MAX_PATH_BYTES
    assert read_archive(io.BytesIO(targz([*with_files({}), Entry(ok, "x")]))).problems == []
