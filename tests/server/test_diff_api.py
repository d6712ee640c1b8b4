"""`GET /api/v1/packages/{ns}/{name}/diff/{from}/{to}` on the real app and database."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.core.diff import DEFAULT_DIFF_LIMITS
from fpmreg.core.wire.diffs import PackageDiff
from fpmreg.server.packages.diff_api import DIFFS_COMPUTED
from fpmreg.server.storage import BlobStore
from tests.factories import make_moderator, make_publisher, publish

SOURCE_1 = "module lib\n  implicit none\ncontains\n  subroutine hello()\n  end subroutine\n"
SOURCE_2 = SOURCE_1.replace("hello()", "hello(name)") + "  ! greets by name\n"
MALWARE = {"reason": "steals tokens from CI (see ticket 12)", "category": "malware"}


def _two_versions(session: Session, store: BlobStore) -> tuple[str, str, str]:
    """`NS/lib` at 1.0.0 and 1.1.0 (src changed, a file added, one removed), and digests."""
    owner = make_publisher(session)
    first = publish(
        session, store, owner, "lib", "1.0.0", files={"src/lib.f90": SOURCE_1, "OLD.txt": "x\n"}
    )
    second = publish(
        session,
        store,
        owner,
        "lib",
        "1.1.0",
        files={"src/lib.f90": SOURCE_2, "data/table.bin": b"\x00\x01\x02"},
    )
    return owner.namespace.name, first.sha256, second.sha256


def test_two_versions_give_the_expected_unified_diff(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, old, new = _two_versions(session, store)
    answer = client.get(f"/api/v1/packages/{ns}/lib/diff/1.0.0/1.1.0")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    lines = answer.text.splitlines()
    assert lines[0] == f"# fpmreg diff {ns}/lib from 1.0.0 sha256:{old} to 1.1.0 sha256:{new}"
    bin_digest = hashlib.sha256(b"\x00\x01\x02").hexdigest()
    assert f"Binary files /dev/null and b/data/table.bin (sha256:{bin_digest}) differ" in lines
    assert "--- a/OLD.txt\tsha256:" + hashlib.sha256(b"x\n").hexdigest() in lines
    assert "-  subroutine hello()" in lines and "+  subroutine hello(name)" in lines
    assert "+  ! greets by name" in lines
    # fpm.toml changed (its version line): the version bump is part of what is reviewed.
    assert '-version = "1.0.0"' in lines and '+version = "1.1.0"' in lines
    assert "README.md" not in answer.text  # unchanged files are not listed


def test_the_diff_is_byte_identical_every_time_and_json_agrees(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, old, new = _two_versions(session, store)
    url = f"/api/v1/packages/{ns}/lib/diff/1.0.0/1.1.0"
    first, again = client.get(url), client.get(url)
    assert first.content == again.content
    assert first.headers["etag"] == again.headers["etag"]
    as_json = client.get(url, params={"format": "json"})
    assert as_json.status_code == 200
    diff = PackageDiff.model_validate_json(as_json.content)
    assert (diff.from_sha256, diff.to_sha256) == (old, new)
    statuses = {f.path: f.status for f in diff.files}
    assert statuses == {
        "OLD.txt": "removed",
        "data/table.bin": "added",
        "fpm.toml": "changed",
        "src/lib.f90": "changed",
    }
    assert [f.path for f in diff.files] == sorted(statuses)
    assert "".join(f.diff for f in diff.files) in first.text
    assert as_json.headers["etag"] != first.headers["etag"]


def test_from_empty_lists_the_whole_package_as_added(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, _, new = _two_versions(session, store)
    for empty in ("empty", "0.0.0"):
        answer = client.get(f"/api/v1/packages/{ns}/lib/diff/{empty}/1.1.0?format=json")
        assert answer.status_code == 200, answer.text
        diff = PackageDiff.model_validate_json(answer.content)
        assert diff.from_version == "empty" and diff.from_sha256 == ""
        assert {f.path for f in diff.files} >= {"fpm.toml", "src/lib.f90", "README.md"}
        assert all(f.status == "added" for f in diff.files)
    text = client.get(f"/api/v1/packages/{ns}/lib/diff/empty/1.1.0").text
    assert text.startswith(f"# fpmreg diff {ns}/lib from empty (no tarball) to 1.1.0 sha256:{new}")


def test_unknown_versions_and_packages_are_404_in_the_envelope(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, _, _ = _two_versions(session, store)
    missing = client.get(f"/api/v1/packages/{ns}/lib/diff/1.0.0/9.9.9")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "version-not-found"
    assert "has no version `9.9.9`" in missing.json()["errors"][0]["detail"]
    assert client.get(f"/api/v1/packages/{ns}/nope/diff/1.0.0/1.1.0").status_code == 404
    bad = client.get(f"/api/v1/packages/{ns}/lib/diff/1.0.0/not-a-version")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "version-invalid"
    odd = client.get(f"/api/v1/packages/{ns}/lib/diff/1.0.0/1.1.0?format=xml")
    assert odd.status_code == 422


def test_a_deleted_version_is_410_and_a_quarantined_package_403(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, _, _ = _two_versions(session, store)
    moderator = make_moderator(session)
    auth = {"Authorization": f"Bearer {moderator.token}"}
    deleted = client.request(
        "DELETE", f"/api/v1/packages/{ns}/lib/versions/1.0.0", json=MALWARE, headers=auth
    )
    assert deleted.status_code == 200, deleted.text
    gone = client.get(f"/api/v1/packages/{ns}/lib/diff/1.0.0/1.1.0")
    assert gone.status_code == 410
    assert "was deleted from the registry" in gone.json()["errors"][0]["detail"]

    review = {"reason": "two reports of a post-install script", "category": "malware"}
    held = client.put(f"/api/v1/packages/{ns}/lib/quarantine", json=review, headers=auth)
    assert held.status_code == 200, held.text
    refused = client.get(f"/api/v1/packages/{ns}/lib/diff/empty/1.1.0")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "package-quarantined"


def _noise(seed: int, size: int) -> str:
    """`size` bytes of lines that do not compress much (so the tarball is accepted)."""
    lines, total = [], 0
    while total < size:
        line = hashlib.sha256(f"{seed}:{total}".encode()).hexdigest() + "\n"
        lines.append(line)
        total += len(line)
    return "".join(lines)


def test_a_diff_over_the_limit_is_413_naming_the_limit(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "big", "1.0.0")
    per_file = 900 * 1024  # under the text-file limit, so each is shown line by line
    count = DEFAULT_DIFF_LIMITS.max_diff_bytes // per_file + 1
    files: dict[str, str | bytes] = {f"data/t{i}.txt": _noise(i, per_file) for i in range(count)}
    publish(session, store, owner, "big", "2.0.0", files=files)

    answer = client.get(f"/api/v1/packages/{ns}/big/diff/1.0.0/2.0.0")
    assert answer.status_code == 413
    (error,) = answer.json()["errors"]
    assert error["code"] == "diff-too-large"
    assert f"larger than {DEFAULT_DIFF_LIMITS.max_diff_bytes} bytes" in error["detail"]


# -- the web page ----------------------------------------------------------------------


def test_the_version_page_links_to_the_diff_with_the_previous_version(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    ns, old, new = _two_versions(session, store)
    page = client.get(f"/project/{ns}/lib/1.1.0")
    assert page.status_code == 200
    link = f'<a id="compare-previous" href="/project/{ns}/lib/diff/1.0.0/1.1.0">'
    assert link + "Compare with previous version (1.0.0)</a>" in page.text
    assert 'id="compare-previous"' not in client.get(f"/project/{ns}/lib/1.0.0").text

    diff = client.get(f"/project/{ns}/lib/diff/1.0.0/1.1.0")
    assert diff.status_code == 200
    assert "text/html" in diff.headers["content-type"]
    assert old in diff.text and new in diff.text
    assert '<span class="diff-add">+  subroutine hello(name)</span>' in diff.text
    assert '<span class="diff-del">-  subroutine hello()</span>' in diff.text
    assert "Binary files /dev/null and b/data/table.bin" in diff.text


def test_the_diff_page_escapes_what_the_package_contains(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    publish(
        session, store, owner, "lib", "1.1.0", files={"notes.md": "<script>alert(1)</script>\n"}
    )
    page = client.get(f"/project/{ns}/lib/diff/1.0.0/1.1.0")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "+&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    missing = client.get(f"/project/{ns}/lib/diff/1.0.0/3.0.0")
    assert missing.status_code == 404
    assert "has no version" in missing.text


def test_computing_diffs_is_rate_limited_per_client_and_cached_diffs_are_free(
    client: TestClient, session: Session, store: BlobStore
) -> None:
    owner = make_publisher(session)
    versions = [f"1.0.{patch}" for patch in range(6)]
    for version in versions:
        publish(session, store, owner, "lib", version, files={"src/lib.f90": version})
    ns = owner.namespace.name
    # 36 different diffs, more than the 16 kept in memory: each of these is computed.
    pairs = [(a, b) for a in ["empty", *versions] for b in versions if a != b]
    limit = DIFFS_COMPUTED.amount
    for old, new in pairs[:limit]:
        assert client.get(f"/api/v1/packages/{ns}/lib/diff/{old}/{new}").status_code == 200
    old, new = pairs[limit]
    refused = client.get(f"/api/v1/packages/{ns}/lib/diff/{old}/{new}")
    assert refused.status_code == 429, refused.text
    assert refused.json()["errors"][0]["code"] == "rate-limited"
    assert "diffs computed" in refused.json()["errors"][0]["detail"]
    assert int(refused.headers["retry-after"]) > 0
    page = client.get(f"/project/{ns}/lib/diff/{old}/{new}")  # the page counts too
    assert page.status_code == 429
    old, new = pairs[limit - 1]  # computed a moment ago: served from memory
    assert client.get(f"/api/v1/packages/{ns}/lib/diff/{old}/{new}").status_code == 200
