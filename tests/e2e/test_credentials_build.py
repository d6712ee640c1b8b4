"""A real build earns a credential (docs/credentials.md): a package built and tested
with fpm and gfortran in the sandbox gets its Open Badges credential, which Digital
Bazaar's verifier accepts offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_build_verification import Registry, _registry
from tests.support.tarballs import package_tarball
from tests.support.vc_verifier import NodeVerifier, install

pytestmark = pytest.mark.e2e


@pytest.fixture
def built(tmp_path: Path) -> Iterator[Registry]:
    yield from _registry(tmp_path, keys_dir=str(tmp_path / "keys"))


def _get(registry: Registry, url: str) -> Any:
    answer = registry.client.get(url.removeprefix("http://testserver"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_package_that_builds_gets_a_credential_the_verifier_accepts(
    built: Registry, tmp_path: Path
) -> None:
    (tmp_path / "vc").mkdir()
    verifier: NodeVerifier = install(tmp_path / "vc")
    program = "program check\n  print *, 'answer ok'\nend program\n"
    built.publish(package_tarball("good", files={"test/check.f90": program}))
    assert built.run_builds() == 1
    assert built.build("good")["outcome"] == "passed"
    credential = _get(built, f"/credentials/{built.namespace}/good/0.1.0/build")
    issuer = _get(built, credential["issuer"]["id"])
    status = _get(built, credential["credentialStatus"]["statusListCredential"])
    verdict = verifier.verify(credential, {issuer["id"]: issuer, status["id"]: status})
    assert verdict["exit"] == 0 and verdict["verified"], verdict
