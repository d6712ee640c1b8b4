"""A corpus of deliberately bad packages, each with the exact problem codes it must get.

Every case makes one mistake on an otherwise good package (`good_files`: fpm.toml with
every recommended field, README, LICENSE, a library module, an app and a test), so its
expected codes are exactly what that mistake causes, errors and warnings alike. Tests
build the tarballs in memory; to look at them:

    python -m tests.data.corpus OUTDIR

writes `OUTDIR/NAME.tar.gz` for every case and an `OUTDIR/index.json` saying what each
one gets wrong and which codes `fpmreg check` and the server must report.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import random
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from fpmreg.core.checks import UploadForm

NAME = "hello"
MiB = 1024 * 1024

# Files of a file-based case: a path's content, or None to leave the path out.
Files = dict[str, str | bytes | None]


@dataclass(frozen=True)
class Entry:
    """One tar member of any type (the shapes `tests.support.tarballs` cannot make)."""

    name: str
    data: bytes | str = b""
    type: bytes = tarfile.REGTYPE
    mode: int = 0o644
    linkname: str = ""


@dataclass(frozen=True)
class Case:
    """One bad package: what is wrong, how to build it, and the codes it must get.

    `expected` is the exact set of codes `inspect_package` reports (errors and warnings).
    `form` is what `fpm publish` would put in its form fields; None means no form (the
    `/api/v1` endpoint and `fpmreg check`)."""

    name: str
    what: str
    build: Callable[[], bytes]
    expected: frozenset[str]
    form: UploadForm | None = None

    def data(self) -> bytes:
        """The tarball's bytes (built once, then cached)."""
        return self.build()


def q(text: str) -> str:
    """A TOML basic string holding `text`."""
    return json.dumps(text, ensure_ascii=False)


# The good package every case starts from ------------------------------------------------

BASE_FIELDS: dict[str, str] = {
    "name": q(NAME),
    "version": q("1.0.0"),
    "license": q("MIT"),
    "description": q("Greets the world, politely"),
    "author": q("Ada Lovelace"),
    "maintainer": q("ada@example.org"),
    "homepage": q("https://example.org/hello"),
}
BUILD_TABLE = "[build]\nmodule-naming = true\n"
MIT = (
    "MIT License\n\nCopyright (c) 2024 Ada Lovelace\n\nPermission is hereby granted, free of "
    'charge, to any person obtaining a copy of this software ... "AS IS", WITHOUT WARRANTY.\n'
)


def fpm_toml(tail: str = BUILD_TABLE, **fields: str | None) -> str:
    """The good fpm.toml with some top-level fields replaced (TOML text) or left out (None).

    Keyword names use `_` for `-`; `tail` is TOML put after the top-level fields."""
    values = {**BASE_FIELDS, **{k.replace("_", "-"): v for k, v in fields.items()}}
    lines = [f"{key} = {value}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n" + tail


def module_source(name: str, *, kind: str = "module", parent: str = "") -> str:
    """A small module (or submodule of `parent`) named `name`."""
    if kind == "submodule":
        return (
            f"submodule ({parent}) {name}\n  implicit none\ncontains\n"
            f"  module procedure greet\n    print '(a)', 'hi'\n  end procedure\n"
            f"end submodule {name}\n"
        )
    return (
        f"module {name}\n  implicit none\n  private\n  public :: greet\ncontains\n"
        f"  subroutine greet(who)\n    character(*), intent(in) :: who\n"
        f"    print '(a)', 'Hello, '//who//'!'\n  end subroutine greet\nend module {name}\n"
    )


def program_source(name: str, uses: str = "") -> str:
    """A main program, optionally using a module."""
    use = f"  use {uses}, only: greet\n" if uses else ""
    call = "  call greet('world')\n" if uses else "  print '(a)', 'Hello, world!'\n"
    return f"program {name}\n{use}  implicit none\n{call}end program {name}\n"


def good_files(name: str = NAME) -> dict[str, str | bytes]:
    """A package with nothing to report: library, app, test, README and LICENSE."""
    module = name.replace("-", "_")
    return {
        "fpm.toml": fpm_toml(name=q(name)),
        "README.md": f"# {name}\n\nGreets the world.\n\n```\nfpm run\n```\n",
        "LICENSE": MIT,
        f"src/{module}.f90": module_source(module),
        "app/main.f90": program_source("main", module),
        "test/check.f90": program_source("check"),
    }


def with_files(changes: Files, base: dict[str, str | bytes] | None = None) -> list[Entry]:
    """The good package's entries with `changes` applied (None removes a path)."""
    files: Files = {**(base if base is not None else good_files()), **changes}
    return [Entry(path, data) for path, data in files.items() if data is not None]


# Building tarballs -----------------------------------------------------------------------


def tar_bytes(
    entries: Iterable[Entry], *, format: int = tarfile.GNU_FORMAT, encoding: str = "utf-8"
) -> bytes:
    """An uncompressed tar holding exactly these entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format, encoding=encoding) as tar:
        for entry in entries:
            data = entry.data.encode() if isinstance(entry.data, str) else entry.data
            info = tarfile.TarInfo(entry.name)
            info.type = entry.type
            info.mode = entry.mode
            info.linkname = entry.linkname
            info.uname = info.gname = "ada"
            regular = entry.type in (tarfile.REGTYPE, tarfile.AREGTYPE)
            info.size = len(data) if regular else 0
            tar.addfile(info, io.BytesIO(data) if regular else None)
    return buffer.getvalue()


def gz(data: bytes, level: int = 9) -> bytes:
    """Gzip with a fixed timestamp, so a case always has the same bytes."""
    return gzip.compress(data, compresslevel=level, mtime=0)


def targz(entries: Iterable[Entry], *, level: int = 9, **kwargs: object) -> bytes:
    return gz(tar_bytes(entries, **kwargs), level)  # type: ignore[arg-type]


# Declaring cases -------------------------------------------------------------------------

CASES: list[Case] = []


def case(
    name: str,
    what: str,
    expected: Iterable[str],
    build: Callable[[], bytes],
    form: UploadForm | None = None,
) -> None:
    CASES.append(Case(name, what, functools.cache(build), frozenset(expected), form))


def files_case(name: str, what: str, expected: Iterable[str], changes: Files, **kw: object) -> None:
    """A case that changes, adds or removes files of the good package."""
    case(name, what, expected, lambda: targz(with_files(changes)), **kw)  # type: ignore[arg-type]


def manifest_case(
    label: str, what: str, expected: Iterable[str], /, tail: str = BUILD_TABLE, **fields: str | None
) -> None:
    """A case whose only change is to fpm.toml (`fields` as in `fpm_toml`)."""
    files_case(label, what, expected, {"fpm.toml": fpm_toml(tail, **fields)})


def members_case(
    name: str, what: str, expected: Iterable[str], *extra: Entry, **tar: object
) -> None:
    """A case that adds tar members (of any type) after the good package's files."""
    case(name, what, expected, lambda: targz([*with_files({}), *extra], **tar))


def deps_case(name: str, what: str, expected: Iterable[str], deps: str) -> None:
    """A case whose fpm.toml has these dependency tables (TOML text) after `[build]`."""
    manifest_case(name, what, expected, BUILD_TABLE + deps)


# Secrets are assembled at run time so that this source file holds none.
PRIVATE_KEY = (
    "-----BEGIN " + "OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END " + "OPENSSH PRIVATE KEY-----\n"
)
FPMREG_TOKEN = "fpm" + "reg_" + "Q2x9-vW_7bR4kZp1LmN8sT3yU6hJ0cXa5dF-gE_2oIq"
GITHUB_TOKEN = "gh" + "p_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY_ID = "AK" + "IAIOSFODNN7EXAMPLE"
assert len(FPMREG_TOKEN) == len("fpmreg_") + 43 and len(GITHUB_TOKEN) == 4 + 36


# The archive ------------------------------------------------------------------------------


def _zip_of_good_package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in good_files().items():
            archive.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


case("not-gzip", "an uncompressed .tar", ["archive-not-gzip"], lambda: tar_bytes(with_files({})))
case("zip-file", "a .zip instead of a .tar.gz", ["archive-not-gzip"], _zip_of_good_package)
case(
    "gzip-truncated",
    "the upload was cut off half-way",
    ["archive-corrupt"],
    lambda: (lambda d: d[: len(d) // 2])(targz(with_files({}))),
)
case(
    "gzip-of-plain-file",
    "a gzipped fpm.toml, not a gzipped tar",
    ["archive-corrupt"],
    lambda: gz(good_files()["fpm.toml"].encode()),  # type: ignore[union-attr]
)
case(
    "top-folder",
    "the package sits in a `hello-1.0.0/` folder (as GitHub release archives do)",
    ["archive-no-manifest"],
    lambda: targz(Entry(f"hello-1.0.0/{e.name}", e.data) for e in with_files({})),
)
files_case(
    "no-manifest",
    "a CMake project with no fpm.toml",
    ["archive-no-manifest"],
    {"fpm.toml": None, "CMakeLists.txt": "project(hello Fortran)\n"},
)
members_case(
    "symlink",
    "a symbolic link to a folder outside the package",
    ["archive-link"],
    Entry("src/common", type=tarfile.SYMTYPE, linkname="../../common/src"),
)
members_case(
    "hardlink",
    "a hard link to another member",
    ["archive-link"],
    Entry("COPYING", type=tarfile.LNKTYPE, linkname="LICENSE"),
)
members_case(
    "parent-path",
    "a member path climbing out with `..`",
    ["archive-parent-path"],
    Entry("../shared/common.f90", "! shared\n"),
)
members_case(
    "absolute-path",
    "a member with an absolute path",
    ["archive-absolute-path"],
    Entry("/home/ada/.bashrc", "export PATH\n"),
)
members_case(
    "windows-drive-path",
    "a member with a Windows drive path",
    ["archive-absolute-path"],
    Entry("C:/Users/ada/notes.txt", "notes\n"),
)
members_case(
    "backslash",
    "a member named with Windows separators",
    ["archive-backslash"],
    Entry("src\\windows\\io.f90", "! io\n"),
)
members_case(
    "char-device",
    "a character device",
    ["archive-special-file"],
    Entry("dev/null", type=tarfile.CHRTYPE),
)
members_case(
    "fifo", "a named pipe", ["archive-special-file"], Entry("run/pipe", type=tarfile.FIFOTYPE)
)
members_case(
    "setuid",
    "a setuid script",
    ["archive-setuid"],
    Entry("scripts/install.sh", "#!/bin/sh\nfpm install\n", mode=0o4755),
)
members_case(
    "setgid-folder",
    "a setgid folder",
    ["archive-setuid"],
    Entry("scripts", type=tarfile.DIRTYPE, mode=0o2755),
)
members_case(
    "duplicate-member",
    "the same path twice, with different contents",
    ["archive-duplicate-member"],
    Entry("src/hello.f90", module_source("evil")),
)
members_case(
    "non-utf8-name",
    "a member name in Latin-1, not UTF-8",
    ["archive-name-encoding"],
    Entry("doc/caf\u00e9.md", "# Caf\u00e9\n"),
    encoding="latin-1",
)
case(
    "too-large",
    "an 11 MiB data file makes the tarball bigger than the 10 MiB limit",
    ["archive-too-large"],
    lambda: targz(
        with_files({"data/measurements.bin": random.Random(1).randbytes(11 * MiB)}), level=1
    ),
)
case(
    "bomb",
    "8 MiB of zeros that compress to a few KiB (a gzip bomb in small)",
    ["archive-too-large-uncompressed"],
    lambda: targz(with_files({"data/grid.dat": bytes(8 * MiB)})),
)
case(
    "too-many-members",
    "a data set of 10,000 tiny files",
    ["archive-too-many-members"],
    lambda: targz(
        with_files({f"data/sample_{i:05}.csv": b"1,2\n" for i in range(10_000)}), level=1
    ),
)
case(
    "file-too-large",
    "a single 50 MiB mesh file",
    ["archive-file-too-large"],
    lambda: targz(
        with_files(
            {
                # Incompressible data keeps the tarball's ratio under the bomb limit, so
                # only the file size is at fault.
                "data/noise.bin": random.Random(2).randbytes(400 * 1024),
                "data/mesh.bin": bytes(50 * MiB + 1),
            }
        ),
        level=1,
    ),
)


def _evil_second_member() -> bytes:
    """A good package, then a second gzip member hiding a symlink and a `..` path."""
    evil = tar_bytes(
        [
            Entry("src/common", type=tarfile.SYMTYPE, linkname="/etc"),
            Entry("../escape.sh", "#!/bin/sh\n"),
        ]
    )
    return targz(with_files({})) + gz(evil)


def _chained_pax_headers(count: int = 3000) -> bytes:
    """`count` pax headers in a row before any member (Python's reader recursed on each)."""
    record = b"20 comment=abcdefgh\n"
    raw = b""
    for index in range(count):
        info = tarfile.TarInfo(f"PaxHeader/{index}")
        info.type, info.size = tarfile.XHDTYPE, len(record)
        raw += info.tobuf(format=tarfile.USTAR_FORMAT) + record.ljust(512, b"\0")
    return gz(raw + tar_bytes(with_files({})))


case(
    "pax-header-chain",
    "3,000 pax headers in a row (made the reader recurse: RecursionError, HTTP 500)",
    ["archive-corrupt"],
    _chained_pax_headers,
)
case(
    "second-gzip-member",
    "a second gzip member after the package, hiding a symlink and a `..` path",
    ["archive-trailing-data"],
    _evil_second_member,
)
case(
    "many-modules-compressed-to-2kb",
    "the probe as sent: 95,000 `module` lines compressed to 2 KB, over the bomb limit",
    ["archive-too-large-uncompressed"],
    lambda: targz(with_files({"src/many.f90": "module m\n" * 95_000})),
)
case(
    "bytes-after-end-of-archive",
    "non-zero bytes after the tar's end-of-archive blocks",
    ["archive-trailing-data"],
    lambda: gz(tar_bytes(with_files({})) + b"#!/bin/sh\nrm -rf ~\n"),
)
files_case(
    "path-part-too-long",
    "a file name of 300 bytes, which ext4, APFS and NTFS refuse",
    ["archive-path-too-long"],
    {"doc/" + "n" * 296 + ".md": "# long\n"},
)
files_case(
    "path-too-long",
    "a path of 900 bytes, 30 folders of 29-byte names (macOS paths stop at 1,024)",
    ["archive-path-too-long"],
    {"/".join([f"a-folder-with-a-long-name-{i:03}" for i in range(30)]) + "/x.md": "x\n"},
)
files_case(
    "path-too-deep",
    "a file 40 folders deep",
    ["archive-path-too-deep"],
    {"/".join(["d"] * 40) + "/x.md": "x\n"},
)
files_case(
    "many-modules-in-one-file",
    "a source of 95,000 `module` lines, with 6 KiB of noise to pass the bomb limit: at most "
    "ten problems of each code, and one saying how many more",
    ["source-too-many-modules", "module-name"],
    {"src/many.f90": "module m\n" * 95_000, "data/noise.bin": random.Random(5).randbytes(6144)},
)

# The manifest ------------------------------------------------------------------------------

files_case("manifest-empty", "an empty fpm.toml", ["manifest-empty"], {"fpm.toml": "\n  \n"})
files_case(
    "manifest-syntax",
    "an unterminated string in fpm.toml",
    ["manifest-syntax"],
    {"fpm.toml": 'name = "hello\nversion = "1.0.0"\n'},
)
manifest_case(
    "manifest-unknown-key",
    "a key fpm does not know (`repository`, from Cargo)",
    ["manifest-key"],
    repository=q("https://github.com/ada/hello"),
)
manifest_case(
    "manifest-deep-arrays",
    "an array nested 2,000 levels deep (it crashed TOML readers with RecursionError)",
    ["manifest-too-deep"],
    tail=BUILD_TABLE + "[extra]\nx = " + "[" * 2000 + "]" * 2000 + "\n",
)
manifest_case(
    "manifest-long-dotted-key",
    "a table header of 20,000 dotted parts (it cost TOML readers seconds of CPU)",
    ["manifest-too-deep"],
    tail=BUILD_TABLE + "[extra." + ".".join(["a"] * 20_000) + "]\nx = 1\n",
)
manifest_case(
    "dependencies-not-a-table",
    "`dependencies` written as a list",
    ["manifest-invalid"],
    dependencies='["stdlib"]',
)
deps_case(
    "metapackage-version",
    "a version for a metapackage, which takes only `*`",
    ["manifest-invalid"],
    '[dependencies]\nopenmp = "4.5"\n',
)
manifest_case(
    "fpm-013-features",
    "a `[features]` table, which fpm 0.12 refuses (a warning)",
    ["manifest-newer-fpm"],
    tail=BUILD_TABLE + '[features]\ndebug.flags = "-g"\n',
)
manifest_case("name-missing", "no `name`", ["name-missing"], name=None)
files_case(
    "name-invalid",
    "a name with a space (a program-only package)",
    ["name-invalid"],
    {
        "fpm.toml": fpm_toml(name=q("hello world")),
        "src/hello.f90": None,
        "app/main.f90": program_source("main"),
    },
)
files_case(
    "name-double-underscore",
    "a name with `__`",
    ["name-double-underscore"],
    {
        "fpm.toml": fpm_toml(name=q("hello__world")),
        "src/hello.f90": None,
        "src/hello__world.f90": module_source("hello__world"),
    },
)
files_case(
    "name-trailing-underscore",
    "a name ending with `_`",
    ["name-trailing-underscore"],
    {
        "fpm.toml": fpm_toml(name=q("hello_")),
        "src/hello.f90": None,
        "src/hello_.f90": module_source("hello_"),
    },
)
manifest_case(
    "version-four-parts", "a version with four parts", ["version-invalid"], version=q("1.2.3.4")
)
manifest_case(
    "version-prerelease", "a pre-release version", ["version-invalid"], version=q("1.0.0-rc1")
)
manifest_case(
    "version-v-prefix", "a `v` before the version", ["version-invalid"], version=q("v1.0.0")
)
manifest_case("version-zero", "version `0.0.0`", ["version-zero"], version=q("0.0.0"))
manifest_case("version-missing", "no `version` (fpm assumes 0)", ["version-zero"], version=None)
files_case(
    "version-file-prerelease",
    "`version` names a file whose first line is a pre-release",
    ["version-invalid"],
    {"fpm.toml": fpm_toml(version=q("VERSION")), "VERSION": "2.0.0-beta\n"},
)
manifest_case("license-missing", "no `license`", ["license-missing"], license=None)
manifest_case("license-empty", "an empty `license`", ["license-missing"], license=q(""))
manifest_case(
    "license-not-spdx", "a license that is not SPDX", ["license-invalid"], license=q("Apache 2")
)
manifest_case(
    "license-bad-expression",
    "an SPDX expression with a dangling operator",
    ["license-invalid"],
    license=q("MIT OR"),
)
manifest_case(
    "description-control-character",
    "a BEL character in the description",
    ["manifest-control-character"],
    description=q("Greets the world\u0007 loudly"),
)
manifest_case(
    "author-nul-character",
    "a NUL character in the author (PostgreSQL cannot store it)",
    ["manifest-control-character"],
    author=q("Ada\u0000Lovelace"),
)

# Dependencies ------------------------------------------------------------------------------

GIT_URL = "https://github.com/ada/greetings"
deps_case(
    "dependency-empty-table",
    "a dependency with an empty table",
    ["dependency-invalid"],
    "[dependencies]\ngreetings = {}\n",
)
deps_case(
    "dependency-git-and-path",
    "a dependency with both `git` and `path`",
    ["dependency-invalid", "dependency-git"],
    f'[dependencies]\ngreetings = {{ git = "{GIT_URL}", path = "../greetings" }}\n',
)
deps_case(
    "dependency-branch-and-tag",
    "a git dependency with both `branch` and `tag`",
    ["dependency-invalid", "dependency-git"],
    f'[dependencies]\ngreetings = {{ git = "{GIT_URL}", branch = "main", tag = "v1.0" }}\n',
)
deps_case(
    "dependency-tag-without-git",
    "a `tag` with no `git`",
    ["dependency-invalid"],
    '[dependencies]\ngreetings = { tag = "v1.0" }\n',
)
deps_case(
    "dependency-missing-namespace",
    "a registry dependency with no `namespace`",
    ["dependency-invalid"],
    '[dependencies]\ngreetings = { v = "1.0.0" }\n',
)
deps_case(
    "dependency-unknown-key",
    "`version` instead of `v` in a dependency",
    ["dependency-invalid"],
    '[dependencies]\ngreetings = { namespace = "ada", version = "1.0.0" }\n',
)
deps_case(
    "dependency-version-range",
    "a version range, which fpm cannot read",
    ["dependency-invalid"],
    '[dependencies]\ngreetings = { namespace = "ada", v = ">=1.0" }\n',
)
deps_case(
    "dependency-bad-namespace",
    "a dependency namespace that is not a valid name",
    ["name-invalid"],
    '[dependencies]\ngreetings = { namespace = "ada lovelace" }\n',
)
deps_case(
    "dependency-git",
    "a git dependency",
    ["dependency-git"],
    f'[dependencies]\ngreetings = {{ git = "{GIT_URL}", tag = "v1.0.0" }}\n',
)
deps_case(
    "dependency-path",
    "a local path dependency",
    ["dependency-path"],
    '[dependencies]\ngreetings = { path = "../greetings" }\n',
)
deps_case(
    "dependency-stdlib",
    "the `stdlib` metapackage, which fpm fetches from git",
    ["dependency-metapackage-git"],
    '[dependencies]\nstdlib = "*"\n',
)
deps_case(
    "dev-dependency-git",
    "a git dev-dependency (test-drive from GitHub)",
    ["dependency-git"],
    '[dev-dependencies]\ntest-drive = { git = "https://github.com/fortran-lang/test-drive" }\n',
)
deps_case(
    "executable-dependency-path",
    "a path dependency of one executable",
    ["dependency-path"],
    '[[executable]]\nname = "hello-cli"\nsource-dir = "app"\nmain = "main.f90"\n'
    '[executable.dependencies]\ncli = { path = "../cli" }\n',
)

# Module naming -----------------------------------------------------------------------------

manifest_case("module-naming-missing", "no `[build] module-naming`", ["module-naming-off"], tail="")
manifest_case(
    "module-prefix-invalid",
    "a custom module prefix with a `-`",
    ["module-prefix-invalid"],
    tail='[build]\nmodule-naming = "my-prefix"\n',
)
files_case(
    "module-in-src",
    "a library module without the package prefix",
    ["module-name"],
    {"src/utils.f90": module_source("utils")},
)
files_case(
    "module-in-app",
    "an app module without the package prefix",
    ["module-name"],
    {"app/cli.f90": module_source("cli")},
)
files_case(
    "submodule-in-src",
    "a submodule without the package prefix",
    ["module-name"],
    {"src/hello_impl.f90": module_source("impl", kind="submodule", parent="hello")},
)
files_case(
    "module-in-example",
    "an example module without the package prefix",
    ["module-name"],
    {"example/demo.f90": module_source("demo_utils")},
)
files_case(
    "module-in-custom-library-dir",
    "a module in the library's custom `source-dir` without the prefix",
    ["module-name"],
    {
        "fpm.toml": fpm_toml(BUILD_TABLE + '[library]\nsource-dir = "lib"\n'),
        "lib/solver.f90": module_source("solver"),
    },
)
files_case(
    "module-wrong-custom-prefix",
    "a module that has neither the package name nor the custom prefix",
    ["module-name"],
    {
        "fpm.toml": fpm_toml('[build]\nmodule-naming = "hx"\n'),
        "src/hx_util.f90": module_source("hx_util"),
        "src/hy_util.f90": module_source("hy_util"),
    },
)
files_case(
    "module-in-test-is-fine",
    "a test helper module without the prefix: fpm does not check tests (control: no problem)",
    [],
    {"test/test_helpers.f90": module_source("test_helpers")},
)

# Build outputs -----------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56)
PE = b"MZ\x90\x00" + bytes(56) + b"\x40\x00\x00\x00" + b"PE\x00\x00" + bytes(20)
files_case(
    "build-folder",
    "fpm's `build/` folder",
    ["build-output"],
    {"build/gfortran_2A42023B310FA28D/hello/src_hello.f90.o": b"\x00"},
)
files_case("object-file", "an object file", ["build-output"], {"src/hello.o": ELF})
files_case(
    "module-file", "a compiled module file", ["build-output"], {"src/hello.mod": b"\x1f\x8b"}
)
files_case("static-library", "a static library", ["build-output"], {"lib/libhello.a": b"!<arch>\n"})
files_case("shared-library", "a shared library", ["build-output"], {"lib/libhello.so": ELF})
files_case(
    "elf-executable",
    "an executable without extension, found by its magic bytes",
    ["build-output"],
    {"bin/hello": ELF},
)
files_case(
    "windows-executable",
    "a Windows executable without extension",
    ["build-output"],
    {"bin/hello-win": PE},
)

# Secrets -----------------------------------------------------------------------------------

files_case(
    "private-key",
    "an SSH private key",
    ["secret-private-key"],
    {"deploy/id_ed25519": PRIVATE_KEY},
)
files_case(
    "fpmreg-token",
    "an fpmreg API token in a publish script",
    ["secret-token"],
    {"scripts/publish.sh": f"#!/bin/sh\nexport FPMREG_TOKEN={FPMREG_TOKEN}\nfpm publish\n"},
)
files_case(
    "github-token",
    "a GitHub token in a CI file",
    ["secret-token"],
    {".github/workflows/ci.yml": f"env:\n  GH_TOKEN: {GITHUB_TOKEN}\n"},
)
files_case(
    "aws-key-id",
    "an AWS access key ID (a warning: IDs alone are not secret)",
    ["secret-suspect"],
    {"docs/s3.md": f"Upload results with key `{AWS_KEY_ID}`.\n"},
)

# Warnings ----------------------------------------------------------------------------------

files_case("readme-missing", "no README", ["readme-missing"], {"README.md": None})
files_case(
    "readme-in-docs-only",
    "the README is in docs/, not at the root",
    ["readme-missing"],
    {"README.md": None, "docs/README.md": "# hello\n"},
)
files_case("license-file-missing", "no LICENSE file", ["license-file-missing"], {"LICENSE": None})
manifest_case("description-missing", "no description", ["description-missing"], description=None)
manifest_case(
    "author-missing", "no author or maintainer", ["author-missing"], author=None, maintainer=None
)
manifest_case(
    "homepage-without-scheme",
    "a homepage without `https://`",
    ["url-invalid"],
    homepage=q("github.com/ada/hello"),
)
manifest_case(
    "homepage-javascript",
    "a `javascript:` homepage",
    ["url-invalid"],
    homepage=q("javascript:alert(1)"),
)
files_case(
    "bare-package",
    "only fpm.toml with name, version, license and module naming, and a module",
    ["readme-missing", "license-file-missing", "description-missing", "author-missing"],
    {
        "fpm.toml": fpm_toml(description=None, author=None, maintainer=None, homepage=None),
        "README.md": None,
        "LICENSE": None,
    },
)

# What `fpm publish` fills in from the working tree, not the archived HEAD ----------------

for field, form, code in [
    ("name", UploadForm("hello-world", "1.0.0", "MIT"), "form-name-mismatch"),
    ("version", UploadForm("hello", "1.1.0", "MIT"), "form-version-mismatch"),
    ("license", UploadForm("hello", "1.0.0", "Apache-2.0"), "form-license-mismatch"),
]:
    files_case(
        f"form-{field}-mismatch",
        f"fpm's form has another {field} than the committed fpm.toml",
        [code],
        {},
        form=form,
    )

CASES_BY_NAME = {c.name: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names must be unique"


def write_corpus(outdir: Path) -> list[dict[str, object]]:
    """Write every case as `NAME.tar.gz` plus `index.json`; return the index."""
    outdir.mkdir(parents=True, exist_ok=True)
    index: list[dict[str, object]] = []
    for item in CASES:
        data = item.data()
        path = outdir / f"{item.name}.tar.gz"
        path.write_bytes(data)
        form = item.form
        index.append(
            {
                "name": item.name,
                "file": path.name,
                "size": len(data),
                "what": item.what,
                "expected_codes": sorted(item.expected),
                "form": None
                if form is None
                else {
                    "package_name": form.name,
                    "package_version": form.version,
                    "package_license": form.license,
                },
            }
        )
    (outdir / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
    return index


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.data.corpus OUTDIR", file=sys.stderr)
        return 2
    index = write_corpus(Path(argv[0]))
    print(f"wrote {len(index)} packages and index.json to {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
