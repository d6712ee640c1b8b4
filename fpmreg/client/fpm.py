"""`fpmreg fpm`: run the real fpm with the config file `fpmreg sync` wrote."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from fpmreg.client.errors import UsageError

FPM_ENV = "FPMREG_FPM"
# The fpm commands that take `--config-file` (fpm 0.12 `fpm_command_line.f90`).
CONFIG_FILE_COMMANDS = frozenset({"build", "run", "test", "install", "update", "clean", "publish"})


def find_fpm() -> str:
    """`$FPMREG_FPM`, else `fpm` on PATH."""
    chosen = os.environ.get(FPM_ENV) or shutil.which("fpm")
    if not chosen:
        raise UsageError(
            f"fpm is not on PATH: install it (`pip install fpm`) or set `{FPM_ENV}` to its path"
        )
    return chosen


def fpm_argv(fpm: str, args: Sequence[str], config_file: Path) -> list[str]:
    """`fpm COMMAND --config-file FILE ARGS...`: the option right after the command."""
    if not args:
        raise UsageError("give an fpm command after `--`, e.g. `fpmreg fpm -- build`")
    command, rest = args[0], list(args[1:])
    if command not in CONFIG_FILE_COMMANDS or "--config-file" in rest:
        return [fpm, command, *rest]
    return [fpm, command, "--config-file", str(config_file), *rest]
