"""`fpmreg vet`: every locked package passes the policies the project chose
(docs/vetting.md, "fpmreg vet")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer

from fpmreg.client.commands.handling import handled
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.lockread import read_lock
from fpmreg.client.report import out
from fpmreg.client.vetting import IMPORTS, TIMEOUT, Fetcher, Imports, read_config
from fpmreg.core.lockfile import LOCK_FILE_NAME, Lock, LockedPackage
from fpmreg.core.vet.evaluate import Evidence, LockEntry, evaluate_lock


class VetFailed(ClientError):
    """Some locked package does not pass a chosen policy (exit 1)."""


def _imports(directory: Path, urls: list[str], lock: Lock, *, locked: bool) -> Imports:
    path = directory / IMPORTS
    if locked:
        if not path.is_file():
            raise UsageError(f"--locked needs `{IMPORTS}`: run `fpmreg vet` online once")
        imports = Imports.load(path.read_text(encoding="utf-8"), str(path))
        missing = [u for u in urls if u not in imports.policies]
        if missing:
            raise UsageError(f"`{IMPORTS}` has no policy `{missing[0]}`: run `fpmreg vet` online")
        untrusted = [
            u for u in urls if imports.policy(u).max_trust_distance is not None
            and "trust" not in imports.communities.get(imports.policy(u).community, {})
        ]  # fmt: skip
        if untrusted:
            raise UsageError(f"`{IMPORTS}` has no trust statements for `{untrusted[0]}`, which "
                             "limits trust distance: run `fpmreg vet` online")  # fmt: skip
        unattested = [_purl(p) for p in lock.packages if _purl(p) not in imports.facts]
        if unattested and any(imports.policy(u).required_facts for u in urls):
            raise UsageError(f"`{IMPORTS}` has no attested facts of `{unattested[0]}`, which a "
                             "policy requires: run `fpmreg vet` online")  # fmt: skip
        return imports
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        fetcher = Fetcher(client)
        imports = fetcher.import_all(urls)
        if any(imports.policy(u).required_facts for u in urls):
            for p in lock.packages:
                purl = _purl(p)
                imports.facts[purl] = fetcher.facts(p.registry, purl, p.sha256)
    path.write_text(imports.dump(), encoding="utf-8")
    return imports


def _purl(package: LockedPackage) -> str:
    return f"pkg:fpm/{package.namespace}/{package.name}@{package.version}"


@handled
def vet_command(
    directory: Annotated[Path, typer.Option("--directory", "-C", help="the project folder")] = Path(
        "."
    ),
    locked: Annotated[
        bool, typer.Option("--locked", help=f"offline: only what `{IMPORTS}` holds")
    ] = False,
) -> None:
    """Check every package of fpm.lock against the policies of fpm-vet/config.toml, and
    say which audits would fix each failure."""
    urls = read_config(directory)
    _text, lock = read_lock(directory)
    if lock is None:
        raise UsageError(f"there is no {LOCK_FILE_NAME} in `{directory}`: run `fpmreg lock`")
    imports = _imports(directory, urls, lock, locked=locked)
    audits, graphs = imports.evidence_parts()
    evidence = Evidence(
        audits=audits, now=datetime.now(UTC), graphs=graphs, facts=imports.attested()
    )
    entries = [LockEntry(_purl(p), p.sha256) for p in lock.packages]
    failed = 0
    for url in urls:
        policy = imports.policy(url)
        trusted = evidence
        if policy.max_trust_distance is not None:
            trusted = replace(evidence, trust=imports.distances(policy.community))
        verdict = evaluate_lock(entries, policy, trusted)
        out().print(verdict.explain(), markup=False, highlight=False)
        failed += not verdict.passed
    if failed:
        raise VetFailed(f"{failed} of {len(urls)} policies not passed: the `fix:` lines say "
                        "which audits would pass them")  # fmt: skip
    out().print(f"all {len(lock.packages)} locked packages pass {len(urls)} policies")
