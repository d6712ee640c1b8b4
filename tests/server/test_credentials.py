"""Verifiable credentials of verified builds (docs/credentials.md): a release whose build
passes gets an Open Badges 3.0 credential that Digital Bazaar's verifier (Node, offline)
accepts; a tampered copy and a revoked one it rejects; a rotated key still verifies.

The build step here records a pass with the real builds service instead of running fpm
in the sandbox (that is tests/e2e/test_credentials_build.py); everything after it, the
job wrapper, the database, the HTTP routes, the CLI and the verifier, is the real one."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from fpmreg.core.integrity import parse_multikey
from fpmreg.server.app import build_job_handlers, create_app
from fpmreg.server.builds.models import BuildOutcome
from fpmreg.server.builds.service import BUILD_VERSION, BuildsService, Outcome
from fpmreg.server.cli import app as cli_app
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.events import Event
from fpmreg.server.federation.keys import load_keys, rotate_keys
from fpmreg.server.jobs import JobContext, JobRunner
from fpmreg.server.linked.credentials import IssueOnPass
from fpmreg.server.linked.credentials_documents import bit, decode_bits
from fpmreg.server.linked.credentials_models import IssuedCredential
from fpmreg.server.linked.credentials_proof import verify
from fpmreg.server.settings import Environment, Settings
from tests.factories import make_owner_token, make_publisher
from tests.support.databases import fresh_database
from tests.support.tarballs import package_tarball
from tests.support.vc_verifier import NodeVerifier, install

BASE = "http://testserver"


@pytest.fixture(scope="session")
def node_verifier(tmp_path_factory: pytest.TempPathFactory) -> NodeVerifier:
    return install(tmp_path_factory.mktemp("vc"))


@dataclass
class Registry:
    settings: Settings
    database: Database
    client: TestClient
    namespace: str
    manage_token: str

    def run_build(self, outcome: BuildOutcome = BuildOutcome.PASSED) -> int:
        """Run the queued build jobs, each recording `outcome`, through `IssueOnPass`."""

        def record(context: JobContext) -> None:
            BuildsService(context.session, SystemClock()).record(
                context.payload["version_id"], Outcome(outcome, f"build {outcome}")
            )

        keys = load_keys(Path(self.settings.keys_dir), self.settings.base_url)
        handlers = {BUILD_VERSION: IssueOnPass(record, SystemClock(), keys)}
        return JobRunner(self.database, SystemClock(), handlers, worker_id="w").run_until_idle()

    def documents(self, credential: dict[str, Any]) -> dict[str, Any]:
        """What a verifier fetches from the registry: the issuer and the status list."""
        issuer = credential["issuer"]["id"]
        status = credential["credentialStatus"]["statusListCredential"]
        return {url: self.client.get(url.removeprefix(BASE)).json() for url in (issuer, status)}

    def credential(self, version: str = "0.1.0") -> dict[str, Any]:
        answer = self.client.get(f"/credentials/{self.namespace}/lib/{version}/build")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/vc+ld+json")
        document: dict[str, Any] = answer.json()
        return document


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        env=Environment.TEST,
        database_url=url,
        storage_path=tmp_path / "blobs",
        base_url=BASE,
        keys_dir=str(tmp_path / "keys"),
        build_verification=True,
        build_bwrap="/nonexistent/bwrap",
    )


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry with build verification on and `<ns>/lib` 0.1.0 published."""
    with fresh_database(tmp_path) as url:
        settings = _settings(tmp_path, url)
        database = Database.from_url(url)
        with database.session() as session:
            publisher = make_publisher(session)
            manage = make_owner_token(session, publisher)
            session.commit()
        with TestClient(create_app(settings, database=database)) as client:
            answer = client.post(
                "/api/v1/packages",
                files={"tarball": ("t.tar.gz", package_tarball("lib"))},
                headers={"Authorization": f"Bearer {publisher.token}"},
            )
            assert answer.status_code == 201, answer.text
            yield Registry(settings, database, client, publisher.namespace.name, manage)
        database.engine.dispose()


def test_no_credential_until_the_build_passes(registry: Registry) -> None:
    answer = registry.client.get(f"/credentials/{registry.namespace}/lib/0.1.0/build")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "credential-not-found"
    assert "build verification passes" in answer.json()["errors"][0]["detail"]
    # The real job wiring: a worker without the sandbox does not verify, so no credential.
    handlers = build_job_handlers(registry.settings, SystemClock())
    assert JobRunner(registry.database, SystemClock(), handlers, worker_id="w").run_until_idle()
    assert (
        registry.client.get(f"/credentials/{registry.namespace}/lib/0.1.0/build").status_code == 404
    )
    assert registry.run_build(BuildOutcome.FAILED) == 0  # the job is done: nothing queued


def test_a_passed_build_issues_an_open_badge_about_the_release(registry: Registry) -> None:
    assert registry.run_build() == 1
    credential = registry.credential()
    ns = registry.namespace
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"]["id"] == f"{BASE}/credentials/issuer"
    subject = credential["credentialSubject"]
    assert subject["id"] == f"pkg:fpm/{ns}/lib@0.1.0"
    version = registry.client.get(f"/api/v1/packages/{ns}/lib/versions/0.1.0").json()
    assert subject["identifier"][0]["identityHash"] == version["sha256"]
    assert subject["achievement"]["name"] == "Build verified by testserver"
    evidence = [e["id"] for e in credential["evidence"]]
    assert evidence[0] == f"{BASE}/project/{ns}/lib/0.1.0"
    entry = registry.client.get(evidence[1].removeprefix(BASE))
    assert entry.status_code == 200, entry.text
    assert f"pkg:fpm/{ns}/lib@0.1.0" in entry.text and "version.publish" in entry.text
    # The proof checks in Python too, against the key the issuer document lists.
    issuer = registry.client.get("/credentials/issuer")
    assert issuer.headers["content-type"].startswith("application/ld+json")
    method = issuer.json()["assertionMethod"][0]
    assert credential["proof"]["verificationMethod"] == method["id"]
    verify(credential, parse_multikey(method["publicKeyMultibase"]))


def test_the_node_verifier_accepts_it_and_rejects_a_tampered_copy(
    registry: Registry, node_verifier: NodeVerifier
) -> None:
    registry.run_build()
    credential = registry.credential()
    assert registry.credential("0.1") == credential  # `1.0` finds `1.0.0`, as in /api/v1
    documents = registry.documents(credential)
    accepted = node_verifier.verify(credential, documents)
    assert accepted == {
        "verified": True, "proofVerified": True, "revoked": False, "errors": [], "exit": 0
    }  # fmt: skip
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["id"] = f"pkg:fpm/{registry.namespace}/lib@0.1.1"
    rejected = node_verifier.verify(tampered, documents)
    assert rejected["exit"] == 1 and not rejected["verified"] and not rejected["proofVerified"]
    assert "Invalid signature." in rejected["errors"]


def _revoke(registry: Registry, *args: str) -> tuple[int, str]:
    env = {
        "FPMREG_DATABASE_URL": registry.settings.database_url,
        "FPMREG_STORAGE_PATH": str(registry.settings.storage_path),
        "FPMREG_KEYS_DIR": registry.settings.keys_dir,
        "FPMREG_BASE_URL": BASE,
    }
    result = CliRunner().invoke(cli_app, ["credentials", "revoke", *args], env=env)
    return result.exit_code, result.output


def test_a_revoked_credential_is_rejected_by_its_status_list(
    registry: Registry, node_verifier: NodeVerifier
) -> None:
    registry.run_build()
    credential = registry.credential()
    release = f"{registry.namespace}/lib@0.1.0"
    code, output = _revoke(registry, release, "--reason", "the build was not reproducible")
    assert code == 0, output
    assert "revoked 1 build credential" in output
    assert _revoke(registry, release, "--reason", "again")[0] == 1  # nothing left to revoke
    with registry.database.session() as session:
        audited = session.scalars(select(Event).where(Event.action.startswith("credential."))).all()
        assert [(e.action, e.subject, e.reason) for e in audited] == [
            ("credential.issue", f"package:{release}", ""),
            ("credential.revoke", f"package:{release}", "the build was not reproducible"),
        ]
    # The credential itself is unchanged and still served; its status bit is set.
    assert registry.credential() == credential
    documents = registry.documents(credential)
    status = credential["credentialStatus"]
    listed = documents[status["statusListCredential"]]["credentialSubject"]["encodedList"]
    assert bit(decode_bits(listed), int(status["statusListIndex"]))
    verdict = node_verifier.verify(credential, documents)
    assert verdict["exit"] == 1 and verdict["proofVerified"] and verdict["revoked"]
    assert verdict["errors"] == ["the credential is revoked (its status list bit is set)"]


def test_the_cli_says_what_to_fix(registry: Registry) -> None:
    code, output = _revoke(registry, "not a release", "--reason", "x")
    assert code == 2 and "is not NAMESPACE/NAME@VERSION" in output
    code, output = _revoke(registry, f"{registry.namespace}/lib@0.1.0", "--reason", " ")
    assert code == 2 and "give a reason" in output


def test_a_failed_rebuild_revokes_and_a_later_pass_issues_anew(registry: Registry) -> None:
    registry.run_build()
    first = registry.credential()
    with registry.database.session() as session:
        version_id = session.scalars(select(IssuedCredential.version_id)).one()
        assert version_id is not None
        BuildsService(session, SystemClock()).queue_build(version_id)
        session.commit()
    registry.run_build(BuildOutcome.FAILED)
    with registry.database.session() as session:
        row = session.scalars(select(IssuedCredential)).one()
        assert row.revoked_at is not None and "did not pass" in row.revoke_reason
        BuildsService(session, SystemClock()).queue_build(version_id)
        session.commit()
    registry.run_build()
    second = registry.credential()
    assert second["credentialStatus"]["statusListIndex"] == "1"
    assert first["credentialStatus"]["statusListIndex"] == "0"


def test_credentials_signed_before_a_key_rotation_still_verify(
    registry: Registry, node_verifier: NodeVerifier, tmp_path: Path
) -> None:
    registry.run_build()
    credential = registry.credential()
    rotate_keys(Path(registry.settings.keys_dir), BASE)
    with TestClient(create_app(registry.settings, database=registry.database)) as client:
        issuer = client.get("/credentials/issuer").json()
        methods = [m["id"] for m in issuer["assertionMethod"]]
        assert len(methods) == 2 and methods[1] == credential["proof"]["verificationMethod"]
        status = client.get(
            credential["credentialStatus"]["statusListCredential"].removeprefix(BASE)
        )
        assert status.json()["proof"]["verificationMethod"] == methods[0]  # the new key
        documents = {issuer["id"]: issuer, status.json()["id"]: status.json()}
    assert node_verifier.verify(credential, documents)["exit"] == 0


def test_status_lists_and_bad_paths_answer_with_the_envelope(registry: Registry) -> None:
    listed = registry.client.get("/credentials/status/1")
    assert listed.status_code == 200
    subject = listed.json()["credentialSubject"]
    assert subject["statusPurpose"] == "revocation"
    assert len(decode_bits(subject["encodedList"])) * 8 == 131_072
    missing = registry.client.get("/credentials/status/7")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "status-list-not-found"
    for path in (
        "/credentials/status/0",
        "/credentials/status/x",
        "/credentials/a/b/1.x/build",
        "/credentials/a/b/1.2.3.4/build",
    ):
        answer = registry.client.get(path)
        assert 400 <= answer.status_code < 500, path
        assert answer.json()["errors"], path


def test_deleting_the_version_revokes_its_credential(
    registry: Registry, node_verifier: NodeVerifier
) -> None:
    registry.run_build()
    credential = registry.credential()
    deleted = registry.client.request(
        "DELETE",
        f"/api/v1/packages/{registry.namespace}/lib/versions/0.1.0",
        json={"reason": "published by mistake", "category": "broken"},
        headers={"Authorization": f"Bearer {registry.manage_token}"},
    )
    assert deleted.status_code == 200, deleted.text
    assert registry.credential() == credential  # still served, for its holders to check
    verdict = node_verifier.verify(credential, registry.documents(credential))
    assert verdict["exit"] == 1 and verdict["proofVerified"] and verdict["revoked"]
