"""`fpmreg verify`: the locked tarballs are the ones their registries logged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fpmreg.client.commands.handling import handled
from fpmreg.client.errors import ClientError, UsageError
from fpmreg.client.lockread import read_lock
from fpmreg.client.report import err, out, print_note
from fpmreg.client.verify import verify_lock
from fpmreg.core.lockfile import LOCK_FILE_NAME
from fpmreg.core.problem import Severity
from fpmreg.core.tlog.note import NoteError, Verifier


class VerifyFailed(ClientError):
    """Some locked package could not be proved (exit 1)."""


@handled
def verify_command(
    directory: Annotated[Path, typer.Option("--directory", "-C", help="the project folder")] = Path(
        "."
    ),
    witness: Annotated[
        list[str] | None,
        typer.Option(help="a witness's cosignature key `name+id+base64` (repeatable)"),
    ] = None,
    witnesses: Annotated[
        int, typer.Option(help="cosignatures needed from those witnesses", min=0)
    ] = 0,
) -> None:
    """Check that every package in fpm.lock is in its registry's transparency log."""
    try:
        keys = [Verifier.parse(text) for text in witness or []]
    except NoteError as exc:
        raise UsageError(f"--witness: {exc}") from None
    if witnesses > len(keys):
        raise UsageError(f"--witnesses {witnesses} needs that many --witness keys")
    _text, lock = read_lock(directory)
    if lock is None:
        raise UsageError(f"there is no {LOCK_FILE_NAME} in `{directory}`: run `fpmreg lock`")
    report = verify_lock(lock, keys, witnesses)
    for line in report.verified:
        out().print(f"verified {line}")
    for line in report.failures:
        print_note(err(), Severity.ERROR, line)
    if report.failures:
        raise VerifyFailed(
            f"{len(report.failures)} of {len(lock.packages)} locked packages not verified"
        )
    out().print(f"all {len(lock.packages)} locked packages are in their registries' logs")
