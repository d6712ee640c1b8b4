"""What the checks learn from a package's files: modules, binaries and secrets.

`SourceScan` is handed every file of an archive (at most `MAX_SCANNED_BYTES` of each,
so memory stays bounded) and records only small facts about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The head of each file that is scanned; modules and keys sit well within it.
MAX_SCANNED_BYTES = 1024 * 1024
# fpm's Fortran suffixes (`fpm_sources.f90`), compared case-sensitively as fpm does.
FORTRAN_SUFFIXES = frozenset(
    {".f90", ".f", ".F90", ".F", ".f95", ".F95", ".f03", ".F03", ".f08", ".F08", ".fpp"}
)
BUILD_SUFFIXES = frozenset(
    {".o", ".obj", ".mod", ".smod", ".a", ".so", ".dll", ".dylib", ".exe", ".lib", ".pyc"}
)
_MACHINE_CODE = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                 b"\xcf\xfa\xed\xfe")  # fmt: skip
# `module procedure`, `module function f()` and the like declare procedures, not modules.
_NOT_A_MODULE = frozenset(
    {"procedure", "function", "subroutine", "pure", "elemental", "impure", "recursive",
     "non_recursive", "integer", "real", "double", "complex", "logical", "character", "type",
     "class"}
)  # fmt: skip
# fpm treats submodules as modules (`fpm_source_parsing.f90`), so they obey naming too.
# Matched on the start of a line; what follows must be blank or a comment (`_TAIL`).
_DECLARATION = re.compile(
    r"[ \t]*(?:(module)[ \t]+([a-z][a-z0-9_]*)|(submodule)[ \t]*\([^)\n]*\)[ \t]*"
    r"([a-z][a-z0-9_]*))",
    re.IGNORECASE,
)
_TAIL = re.compile(r"[ \t]*(?:!.*)?\r?")
# The lines `_DECLARATION` may match, found in the lowercased bytes of a file.
_CANDIDATE = re.compile(rb"^[ \t]*(?:sub)?module", re.MULTILINE)
# Declarations recorded per file. A real source declares one module or a handful;
# past this the file is refused, so no module goes unchecked, and an upload of
# repeated `module` lines costs little.
MAX_MODULES_PER_FILE = 1_000
# Declarations recorded per package: bounds memory and the naming check's work (the
# ~10 MB benchmark package declares 1,200; fortran-lang/stdlib about 300).
MAX_MODULES_PER_PACKAGE = 20_000
# The start of a line read for a declaration. Fortran 2023 allows 10,000 characters
# a line; a declaration fits in far less, and a megabyte-long line costs no more than
# this to look at (what the cut leaves out is not read).
MAX_LINE_BYTES = 10_000
# Real headers name at most a couple of words (`RSA`, `OPENSSH`, `ENCRYPTED`, `PGP`):
# bounded, so a megabyte of `A A A ...` after `-----BEGIN ` is not backtracked through.
_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----")
# Each pattern runs only when its literal marker occurs: `bytes.__contains__` is a fast C
# search. The patterns start with their literal (no `\b`), so the regex engine jumps
# from one occurrence to the next; `_token_at` checks the word boundary.
_TOKENS = {
    "an fpmreg API token": ((b"fpmreg_",), re.compile(rb"fpmreg_[A-Za-z0-9_-]{43}")),
    "a GitHub token": (
        (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
        re.compile(rb"gh(?:[pousr]_[A-Za-z0-9]{36}|ithub_pat_[A-Za-z0-9_]{82})"),
    ),
    "a GitLab token": ((b"glpat-",), re.compile(rb"glpat-[A-Za-z0-9_-]{20}")),
    "a Slack token": ((b"xox",), re.compile(rb"xox[abprs]-[A-Za-z0-9-]{10,}")),
    "a PyPI token": ((b"pypi-",), re.compile(rb"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}")),
}
_KEY_ID = re.compile(rb"(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _token_at(pattern: re.Pattern[bytes], data: bytes) -> int:
    """The offset of the first match of `pattern` that starts a word (as `\b` would
    say), or -1. Each retry starts one byte later, so the work stays linear."""
    at = 0
    while (match := pattern.search(data, at)) is not None:
        start = match.start()
        if start == 0 or data[start - 1] not in _WORD:
            return start
        at = start + 1
    return -1


# One pass finds whether any secret marker occurs at all; most files have none.
_ANY_MARKER = re.compile(
    rb"PRIVATE KEY|fpmreg_|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|pypi-|AKIA|ASIA"
)


@dataclass(frozen=True, slots=True)
class ModuleDecl:
    """A `module` or `submodule` statement."""

    path: str
    line: int
    kind: str  # "module" or "submodule"
    name: str  # lowercase, as Fortran names are case-insensitive


@dataclass(frozen=True, slots=True)
class Finding:
    """A binary or a secret found in a file."""

    path: str
    line: int
    what: str


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _declaration(path: str, line: int, text: str) -> ModuleDecl | None:
    """The module or submodule `text` (the start of a line) declares, if any."""
    match = _DECLARATION.match(text)
    if match is None or not _TAIL.fullmatch(text, match.end()):
        return None
    if match.group(1):
        name = match.group(2).lower()
        return None if name in _NOT_A_MODULE else ModuleDecl(path, line, "module", name)
    return ModuleDecl(path, line, "submodule", match.group(4).lower())


def fortran_modules(path: str, data: bytes, limit: int = MAX_MODULES_PER_FILE) -> list[ModuleDecl]:
    """The modules and submodules a Fortran source declares, as fpm's parser sees them.

    At most `limit + 1` are returned (one more than the limit says the file has too
    many). The work is linear in `data`: each byte is looked at a bounded number of
    times, and line numbers are counted on from the previous declaration."""
    found: list[ModuleDecl] = []
    # Only lines starting with `module` or `submodule` can declare one: the regex finds
    # them at C speed. `bytes.lower()` changes ASCII only, so offsets match `data`.
    lowered = data.lower()
    line, counted = 1, 0  # the line number of offset `counted`
    for candidate in _CANDIDATE.finditer(lowered):
        if len(found) > limit:
            break
        line_start = candidate.start()
        line_end = lowered.find(b"\n", line_start)
        line_end = len(data) if line_end < 0 else line_end
        cut = min(line_end, line_start + MAX_LINE_BYTES)
        text = data[line_start:cut].decode("utf-8", "replace")
        line += data.count(b"\n", counted, line_start)
        counted = line_start
        if (decl := _declaration(path, line, text)) is not None:
            found.append(decl)
    return found


def _suffix(path: str) -> str:
    """`PurePosixPath(path).suffix`, without building a path object per file."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


@dataclass
class SourceScan:
    """Facts gathered from every file of a package, one file at a time."""

    modules: list[ModuleDecl] = field(default_factory=list)
    binaries: list[Finding] = field(default_factory=list)
    secrets: list[Finding] = field(default_factory=list)
    suspects: list[Finding] = field(default_factory=list)
    # Files with more modules than a limit allows (`what`: "file" for
    # `MAX_MODULES_PER_FILE`, "package" for `MAX_MODULES_PER_PACKAGE`, after which no
    # more modules are read).
    crowded: list[Finding] = field(default_factory=list)

    def _scan_modules(self, path: str, head: bytes) -> None:
        room = MAX_MODULES_PER_PACKAGE - len(self.modules)
        if self.crowded and self.crowded[-1].what == "package":
            return
        limit = min(MAX_MODULES_PER_FILE, room)
        found = fortran_modules(path, head, limit)
        if len(found) > limit:
            what = "file" if limit == MAX_MODULES_PER_FILE else "package"
            self.crowded.append(Finding(path, found[limit].line, what))
        self.modules.extend(found[:limit])

    def __call__(self, path: str, head: bytes) -> None:
        """Scan one file, given (at most) its first `MAX_SCANNED_BYTES` bytes."""
        suffix = _suffix(path)
        if path.startswith("build/"):
            self.binaries.append(Finding(path, 0, "is inside `build/`, fpm's output folder"))
        elif suffix.lower() in BUILD_SUFFIXES:
            self.binaries.append(Finding(path, 0, f"is a build output (`{suffix}`)"))
        elif head.startswith(_MACHINE_CODE) or (head.startswith(b"MZ") and b"PE\0\0" in head):
            self.binaries.append(Finding(path, 0, "is an executable or library (machine code)"))
        if suffix in FORTRAN_SUFFIXES:
            self._scan_modules(path, head)
        if not _ANY_MARKER.search(head):
            return
        if b"PRIVATE KEY" in head and (match := _PRIVATE_KEY.search(head)):
            self.secrets.append(Finding(path, _line_of(head, match.start()), "a private key"))
        for what, (markers, pattern) in _TOKENS.items():
            if any(m in head for m in markers) and (start := _token_at(pattern, head)) >= 0:
                self.secrets.append(Finding(path, _line_of(head, start), what))
        if (b"AKIA" in head or b"ASIA" in head) and (start := _token_at(_KEY_ID, head)) >= 0:
            self.suspects.append(Finding(path, _line_of(head, start), "a cloud access key ID"))
