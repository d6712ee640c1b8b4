"""`fpmreg check` and the server's upload gate report the same problems, word for word.

The corpus (`tests.data.corpus`) holds one bad package per mistake with the exact codes
it must get. For each, the client's problems are exactly those codes; `fpmreg check`
prints them; and the server, given the same bytes, reports every client error with the
same code, field and message (its codes a superset, since it also checks the registry),
or accepts the package with the same warnings. Hypothesis then throws random manifests
and archives at both. Realistic packages (`tests.data.realistic`) pass and publish.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fpmreg.client.cli import app as cli_app
from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.checks import Inspection, UploadForm, inspect_package
from fpmreg.core.fpmjson import dumps_fpm, fpm_json_problems
from fpmreg.core.problem import Problem, Severity
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.errors import DomainError
from fpmreg.server.packages.models import ModulePrefix, Package
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.settings import Settings
from fpmreg.server.storage import BlobStore
from tests.data import realistic
from tests.data.corpus import (
    AWS_KEY_ID,
    CASES,
    ELF,
    FPMREG_TOKEN,
    GITHUB_TOKEN,
    PE,
    PRIVATE_KEY,
    Case,
    Entry,
    fpm_toml,
    gz,
    module_source,
    q,
    tar_bytes,
    targz,
    with_files,
)
from tests.factories import Publisher, make_publisher, unique

# Cases where the code disagrees with the rule the corpus states: none left.
CLIENT_BUGS: dict[str, str] = {}
SERVER_BUGS: dict[str, str] = {}


def _params(bugs: dict[str, str]) -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.name,
            marks=[pytest.mark.xfail(strict=True, reason=bugs[case.name])]
            if case.name in bugs
            else [],
        )
        for case in CASES
    ]


# Fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings, with room for the many uploads one test makes here."""
    return settings.model_copy(update={"publishes_per_minute": 100_000})


@pytest.fixture
def publisher(session: Session) -> Publisher:
    publisher = make_publisher(session)
    session.commit()
    return publisher


def inspect(data: bytes, form: UploadForm | None = None) -> Inspection:
    return inspect_package(io.BytesIO(data), form)


def as_json(problems: list[Problem]) -> list[dict[str, str]]:
    """Problems as the API writes them."""
    return [{"code": p.code, "field": p.field, "detail": p.message} for p in problems]


def errors(inspection: Inspection) -> list[Problem]:
    return [p for p in inspection.problems if p.is_error]


def warnings(inspection: Inspection) -> list[Problem]:
    return [p for p in inspection.problems if not p.is_error]


def api_upload(
    client: TestClient, token: str, data: bytes, *, dry_run: bool = True
) -> httpx.Response:
    return client.post(
        "/api/v1/packages",
        files={"tarball": ("package.tar.gz", data, "application/gzip")},
        data={"dry_run": "true"} if dry_run else None,
        headers={"Authorization": f"Bearer {token}"},
    )


def fpm_upload(client: TestClient, token: str, data: bytes, form: UploadForm) -> httpx.Response:
    """A dry run through `POST /packages`, with the form fields `fpm publish` sends."""
    fields = {
        "package_name": form.name,
        "package_license": form.license,
        "package_version": form.version,
        "upload_token": token,
        "dry_run": "true",
    }
    return client.post(
        "/packages",
        data=fields,
        files={"tarball": ("fileB0Nbbs", data, "application/octet-stream")},
    )


def fpm_text(message: str) -> str:
    """A message as fpm's envelope carries it (control characters it cannot read replaced)."""
    return json.loads(dumps_fpm({"code": 0, "message": message}))["message"]  # type: ignore[no-any-return]


def assert_fpm_envelope_has(response: httpx.Response, problems: list[Problem]) -> None:
    """The fpm endpoint refused with every one of these problems' messages."""
    assert fpm_json_problems(response.content) == []
    body = response.json()
    assert (response.status_code, body["code"]) == (400, 400), body
    for problem in problems:
        assert fpm_text(problem.message) in body["message"]


def assert_server_agrees(inspection: Inspection, response: httpx.Response) -> None:
    """The server reports every client error identically, or accepts with the same warnings.

    When the client finds no error, the server may still refuse, but only for what
    needs the registry's data (server-only checks)."""
    body = response.json()
    client_errors = as_json(errors(inspection))
    if client_errors:
        # 413 when the upload is over the size limit, before the body is even read.
        assert response.status_code in (400, 413), body
        server_errors = body["errors"]
        for problem in client_errors:
            assert problem in server_errors, (problem, server_errors)
        assert {e["code"] for e in server_errors} >= {e["code"] for e in client_errors}
    elif response.status_code == 200:
        assert body["dry_run"] is True
        assert body["warnings"] == as_json(warnings(inspection))
    else:
        assert response.status_code in (400, 409), body
        refused = [e["code"] for e in body["errors"]]
        assert refused and all(CATALOGUE[code].server_only for code in refused), body


def service_problems(
    session: Session, store: BlobStore, token: str, data: bytes, form: UploadForm
) -> list[Problem]:
    """Every problem the server's publish service finds in a dry run (warnings included)."""
    service = PackagesService(session, SystemClock(), store)
    try:
        result = service.publish_version(
            AccountsService(session, SystemClock()),
            io.BytesIO(data),
            token=token,
            form=form,
            dry_run=True,
        )
    except DomainError as refused:
        return refused.problems
    return list(result.warnings)


# The corpus itself -------------------------------------------------------------------------


def test_corpus_covers_every_client_check_with_distinct_cases() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    covered = set().union(*(c.expected for c in CASES))
    client_side = {code for code, info in CATALOGUE.items() if not info.server_only}
    # No fixed bytes reliably cost more CPU than the budget on every machine:
    # tests/core/test_cpu_budget.py refuses a package under an injected tiny budget.
    client_side -= {"archive-too-costly"}
    assert covered == client_side, (client_side - covered, covered - client_side)
    severities = {CATALOGUE[code].severity for code in covered}
    assert severities == {Severity.ERROR, Severity.WARNING}
    # Distinct mistakes: no two cases build the same bytes with the same form.
    assert len({(c.data(), c.form) for c in CASES}) == len(CASES)


def test_corpus_script_writes_every_case_and_an_index(tmp_path: Path) -> None:
    from tests.data.corpus import main

    small = [c for c in CASES if len(c.data()) < 1024 * 1024]
    assert main([str(tmp_path)]) == 0
    index = json.loads((tmp_path / "index.json").read_text())
    assert [entry["name"] for entry in index] == [c.name for c in CASES]
    for item in small:
        entry = next(e for e in index if e["name"] == item.name)
        assert (tmp_path / entry["file"]).read_bytes() == item.data()
        assert set(entry["expected_codes"]) == item.expected


# Client side ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(CLIENT_BUGS))
def test_client_reports_exactly_the_expected_codes(case: Case) -> None:
    inspection = inspect(case.data(), case.form)
    assert {p.code for p in inspection.problems} == case.expected, [
        (p.code, p.message) for p in inspection.problems
    ]
    for problem in inspection.problems:
        assert problem.severity is CATALOGUE[problem.code].severity
        assert problem.field and problem.message
    assert inspection.ok == all(CATALOGUE[c].severity is Severity.WARNING for c in case.expected)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_fpmreg_check_prints_what_inspect_package_finds(case: Case, tmp_path: Path) -> None:
    path = tmp_path / f"{case.name}.tar.gz"
    path.write_bytes(case.data())
    result = CliRunner().invoke(cli_app, ["check", str(path), "--format", "json"])
    inspection = inspect(case.data())  # the command line has no form to compare with
    printed = json.loads(result.stdout)["problems"]
    assert printed == [
        {"code": p.code, "field": p.field, "message": p.message, "severity": str(p.severity)}
        for p in inspection.problems
    ]
    assert result.exit_code == (0 if inspection.ok else 1)


# Server side ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(SERVER_BUGS))
def test_server_reports_the_client_problems_word_for_word(
    case: Case, client: TestClient, session: Session, store: BlobStore, publisher: Publisher
) -> None:
    data = case.data()
    inspection = inspect(data, case.form)
    # The publish service, with the form `fpm publish` would send: codes included.
    found = service_problems(session, store, publisher.token, data, case.form or UploadForm())
    client_errors = errors(inspection)
    if client_errors:
        assert [p for p in client_errors if p not in found] == []
        assert {p.code for p in found} >= {p.code for p in client_errors}
    else:
        assert found == warnings(inspection)
    # And over HTTP, as each client sends it.
    if case.form is None:
        response = api_upload(client, publisher.token, data)
        assert_server_agrees(inspection, response)
        assert response.status_code in ((400, 413) if client_errors else (200,))
    else:
        assert client_errors, "every form case has a form error"
        assert_fpm_envelope_has(fpm_upload(client, publisher.token, data, case.form), client_errors)


def test_every_corpus_case_with_a_matching_form_gets_no_form_problem() -> None:
    for case in CASES:
        inspection = inspect(case.data())
        manifest = inspection.manifest
        if manifest is None:
            continue
        form = UploadForm(manifest.name, manifest.version, manifest.license)
        assert inspect(case.data(), form).problems == inspection.problems, case.name


# Checks only the server can make --------------------------------------------------------


def publish_now(client: TestClient, token: str, data: bytes) -> dict[str, Any]:
    response = api_upload(client, token, data, dry_run=False)
    assert response.status_code == 201, response.json()
    return response.json()  # type: ignore[no-any-return]


def named(
    name: str, deps: str = "", *, tail: str = "[build]\nmodule-naming = true\n", **files: str
) -> bytes:
    """A good package called `name` (module `name`), with dependency tables `deps` or
    another fpm.toml `tail`."""
    module = name.replace("-", "_")
    base = {
        "fpm.toml": fpm_toml(tail + deps, name=q(name)),
        "src/hello.f90": None,
        f"src/{module}.f90": module_source(module),
        "app/main.f90": None,
        **files,
    }
    return targz(with_files(base))


def assert_only_the_server_finds(
    client: TestClient, token: str, data: bytes, code: str, status: int = 400
) -> dict[str, Any]:
    inspection = inspect(data)
    assert inspection.problems == [], inspection.problems
    assert CATALOGUE[code].server_only
    response = api_upload(client, token, data)
    assert response.status_code == status, response.json()
    codes = [e["code"] for e in response.json()["errors"]]
    assert code in codes
    assert_server_agrees(inspection, response)
    return response.json()  # type: ignore[no-any-return]


def test_dependency_missing_from_the_registry(client: TestClient, publisher: Publisher) -> None:
    data = named(
        "app-one",
        '[dependencies]\nghost = { namespace = "nobody" }\n',
    )
    body = assert_only_the_server_finds(client, publisher.token, data, "dependency-not-found")
    assert "`nobody/ghost`" in body["errors"][0]["detail"]


def test_dev_dependency_missing_from_the_registry_is_fine(
    client: TestClient, publisher: Publisher
) -> None:
    data = named(
        "app-two",
        '[dev-dependencies]\nghost = { namespace = "nobody" }\n',
    )
    assert inspect(data).problems == []
    assert api_upload(client, publisher.token, data).status_code == 200


def test_pinned_dependency_version_missing(client: TestClient, publisher: Publisher) -> None:
    ns = publisher.namespace.name
    publish_now(client, publisher.token, named("base-lib"))
    ok = named(
        "top-app",
        f'[dependencies]\nbase-lib = {{ namespace = "{ns}", v = "1.0" }}\n',
    )
    assert api_upload(client, publisher.token, ok).status_code == 200
    data = named(
        "top-app",
        f'[dependencies]\nbase-lib = {{ namespace = "{ns}", v = "2.0.0" }}\n',
    )
    body = assert_only_the_server_finds(
        client, publisher.token, data, "dependency-version-not-found"
    )
    assert "newest: `1.0.0`" in body["errors"][0]["detail"]


def test_module_prefix_of_another_package(
    client: TestClient, session: Session, publisher: Publisher
) -> None:
    first = realistic.statistics("1.0.0", prefix="zq")
    publish_now(client, publisher.token, first.data())
    other = make_publisher(session)
    session.commit()
    data = named(
        "rival",
        tail='[build]\nmodule-naming = "ZQ"\n',
        **{"src/zq_rival.f90": module_source("zq_rival")},
    )
    body = assert_only_the_server_finds(client, other.token, data, "module-prefix-taken")
    assert f"`{publisher.namespace.name}/fortran-stats`" in body["errors"][0]["detail"]


def test_version_already_published(client: TestClient, publisher: Publisher) -> None:
    data = named("once")
    publish_now(client, publisher.token, data)
    assert_only_the_server_finds(client, publisher.token, data, "version-exists", 409)


def test_confusable_name(client: TestClient, publisher: Publisher) -> None:
    publish_now(client, publisher.token, named("hello"))
    assert_only_the_server_finds(client, publisher.token, named("he11o"), "name-confusable", 409)


def test_name_with_another_spelling(client: TestClient, publisher: Publisher) -> None:
    publish_now(client, publisher.token, named("my-lib"))
    data = named("My_Lib", **{"fpm.toml": fpm_toml(name=q("My_Lib"), version=q("2.0.0"))})
    assert_only_the_server_finds(client, publisher.token, data, "name-spelling", 409)


# Realistic packages -------------------------------------------------------------------


@pytest.mark.parametrize("package", [pytest.param(p, id=p.name) for p in realistic.all_packages()])
def test_realistic_package_passes_the_client(package: realistic.Realistic) -> None:
    inspection = inspect(package.data(), UploadForm(package.name, package.version, ""))
    assert inspection.problems == []
    assert inspection.manifest is not None
    assert (inspection.manifest.name, inspection.manifest.version) == (
        package.name,
        package.version,
    )


def test_realistic_packages_publish_in_dependency_order(
    client: TestClient, session: Session
) -> None:
    core = make_publisher(session, namespace=unique("geo"))
    tools = make_publisher(session, namespace=unique("geo-tools"))
    session.commit()
    chain = realistic.geodesy_chain(core.namespace.name, tools.namespace.name)
    # Out of order, the chain's dependencies are not in the registry yet.
    early = api_upload(client, tools.token, chain[2].data())
    assert {e["code"] for e in early.json()["errors"]} == {"dependency-not-found"}
    uploads = [
        (tools, realistic.quadrature()),
        (tools, realistic.statistics()),
        (core, chain[0]),
        (tools, chain[1]),
        (tools, chain[2]),
    ]
    for who, package in uploads:
        dry = api_upload(client, who.token, package.data())
        assert (dry.status_code, dry.json()["warnings"]) == (200, []), dry.json()
        body = publish_now(client, who.token, package.data())
        assert (body["name"], body["version"], body["warnings"]) == (
            package.name,
            package.version,
            [],
        )
        shown = client.get(f"/api/v1/packages/{who.namespace.name}/{package.name}")
        assert shown.status_code == 200
    cli = client.get(f"/api/v1/packages/{tools.namespace.name}/geodesy-cli/versions/2.0.0")
    deps = {(d["name"], d.get("namespace"), d.get("version")) for d in cli.json()["dependencies"]}
    assert ("geodesy-io", tools.namespace.name, None) in deps
    assert ("geodesy-core", core.namespace.name, "1.2.0") in deps


def test_next_version_keeps_its_custom_prefix(
    client: TestClient, session: Session, publisher: Publisher
) -> None:
    publish_now(client, publisher.token, realistic.statistics("1.0.0").data())
    publish_now(client, publisher.token, realistic.statistics("1.1.0").data())
    owner = session.scalar(
        select(Package)
        .join(ModulePrefix, ModulePrefix.package_id == Package.id)
        .where(ModulePrefix.prefix == "fst")
    )
    assert owner is not None
    assert (owner.namespace.name, owner.name, owner.latest_version) == (
        publisher.namespace.name,
        "fortran-stats",
        "1.1.0",
    )
    # Still the package's own after the second version, and nobody else's.
    other = make_publisher(session)
    session.commit()
    stolen = api_upload(client, other.token, realistic.statistics("1.0.0").data())
    assert [e["code"] for e in stolen.json()["errors"]] == ["module-prefix-taken"]


# Known bugs elsewhere than the corpus -------------------------------------------------


def test_version_read_from_a_file_in_a_folder() -> None:
    data = targz(
        with_files({"fpm.toml": fpm_toml(version=q("src/VERSION")), "src/VERSION": "1.2.0\n"})
    )
    inspection = inspect(data)
    assert inspection.problems == []
    assert inspection.manifest is not None and inspection.manifest.version == "1.2.0"


@pytest.mark.parametrize("size", [300 * 1024, 600 * 1024])
def test_oversized_manifest_is_refused_as_too_large_not_missing(size: int) -> None:
    manifest = fpm_toml() + "# " + "x" * size + "\n"
    inspection = inspect(targz(with_files({"fpm.toml": manifest})))
    assert inspection.problems, "a manifest this big is refused"
    assert "archive-no-manifest" not in [p.code for p in inspection.problems]
    assert any("fpm.toml" in p.message for p in inspection.problems)


@pytest.mark.parametrize("readme", ["README.markdown", "readme.rst", "README.MD", "ReadMe.txt"])
def test_a_readme_the_check_accepts_is_the_one_the_registry_shows(readme: str) -> None:
    inspection = inspect(targz(with_files({"README.md": None, readme: "# hello\n"})))
    assert inspection.problems == []
    assert inspection.archive.readme == (readme, "# hello\n")


# Random manifests and archives ---------------------------------------------------------

_WRITE_EVENTS = frozenset(
    {
        "os.mkdir",
        "os.rename",
        "os.remove",
        "os.rmdir",
        "os.symlink",
        "os.link",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.utime",
        "shutil.copyfile",
        "shutil.copymode",
        "shutil.rmtree",
        "shutil.move",
        "tempfile.mkstemp",
        "tempfile.mkdtemp",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_recorders: list[list[tuple[str, tuple[Any, ...]]]] = []


def _audit(name: str, args: tuple[Any, ...]) -> None:
    if not _recorders:
        return
    if name == "open":
        path, mode, flags = args
        writing = (
            any(c in mode for c in "wax+")
            if isinstance(mode, str)
            else bool(isinstance(flags, int) and flags & _WRITE_FLAGS)
        )
        if writing and "__pycache__" not in str(path):  # the import system's own
            _recorders[-1].append((name, args))
    elif name in _WRITE_EVENTS:
        _recorders[-1].append((name, args))


sys.addaudithook(_audit)


@contextmanager
def no_writes(tmp_path: Path) -> Iterator[None]:
    """Run in a fresh empty working folder; fail if anything opens a file to write,
    creates, moves or removes one, or leaves anything in that folder."""
    workdir = Path(tempfile.mkdtemp(dir=tmp_path))
    before = os.getcwd()
    recorded: list[tuple[str, tuple[Any, ...]]] = []
    os.chdir(workdir)
    _recorders.append(recorded)
    try:
        yield
    finally:
        _recorders.pop()
        os.chdir(before)
    assert recorded == []
    assert list(workdir.iterdir()) == []


def test_the_write_guard_catches_writes(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    with pytest.raises(AssertionError), no_writes(tmp_path):
        elsewhere.write_text("x")  # outside the working folder, still caught
    with pytest.raises(AssertionError), no_writes(tmp_path):
        os.close(os.open("created", os.O_CREAT | os.O_WRONLY))
    with no_writes(tmp_path):
        assert Path(realistic.__file__).read_text()  # reading is fine


def check_random_package(
    client: TestClient, token: str, data: bytes, tmp_path: Path, form: UploadForm | None = None
) -> Inspection:
    with no_writes(tmp_path):
        inspection = inspect(data, form)  # must not raise
    assert isinstance(inspection, Inspection)
    for problem in inspection.problems:
        assert type(problem) is Problem
        assert problem.code in CATALOGUE, problem
        info = CATALOGUE[problem.code]
        assert problem.severity is info.severity and not info.server_only, problem
        assert isinstance(problem.field, str) and problem.message
    response = api_upload(client, token, data)
    assert_server_agrees(inspect(data), response)
    event(f"client {'ok' if inspection.ok else 'refuses'}, server {response.status_code}")
    for code in {p.code for p in inspection.problems}:
        event(code)
    return inspection


def toml_string(text: str) -> str:
    # JSON escapes are TOML's, except that TOML also forbids a raw DEL.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(table: dict[str, object]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in table.items())


short_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
names = st.one_of(
    st.sampled_from(
        ["hello", "hello-world", "Hello_2", "hello__x", "hello_", "1hello", "h" * 64, "hé", ""]
    ),
    short_text,
)
versions = st.one_of(
    st.sampled_from(
        ["1.0.0", "0", "0.0.0", "1.0", "2", "1.2.3.4", "1.0.0-rc1", "v1", "01.002.0003", "VERSION"]
    ),
    st.sampled_from(["1234567890.0.0", "", " 1.0.0"]),
    short_text,
    st.integers(-3, 3),
)
licenses = st.one_of(
    st.sampled_from(["MIT", "Apache-2.0 OR MIT", "GPL-3.0-or-later", "GPL", "MIT OR", "", "mit"]),
    short_text,
    st.integers(0, 1),
)
texts = st.one_of(st.sampled_from(["A package", "", "Ada\x00", "tab\there"]), short_text)
urls = st.one_of(
    st.sampled_from(["https://example.org", "http://x.y/z", "example.org", "javascript:x", ""]),
    short_text,
)
scalars = st.one_of(st.booleans(), st.integers(-2, 2), short_text)
dependency_entries = st.one_of(
    st.just("*"),
    scalars,
    st.fixed_dictionaries(
        {},
        optional={
            "namespace": st.one_of(
                st.sampled_from(["acme", "fortran-lang", "bad ns", ""]), scalars
            ),
            "v": st.one_of(versions, st.just(">=1.0")),
            "git": st.just("https://github.com/acme/x"),
            "path": st.just("../x"),
            "tag": st.just("v1"),
            "branch": st.just("main"),
            "rev": st.just("abc123"),
            "version": st.just("1.0.0"),
            "features": st.just(["a"]),
        },
    ),
)
dependency_tables = st.dictionaries(
    st.one_of(
        st.sampled_from(["stdlib", "minpack", "openmp", "test-drive", "greetings", "1bad", "x__y"]),
        short_text,
    ),
    dependency_entries,
    max_size=3,
)
source_dirs = st.sampled_from(["src", "lib", "lib/", "app", "", ".", "test", "../x"])
targets = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "name": names,
            "source-dir": source_dirs,
            "main": st.just("main.f90"),
            "dependencies": dependency_tables,
        },
    ),
    max_size=2,
)
module_namings = st.one_of(
    st.booleans(), st.sampled_from(["fst", "Fx1", "my-prefix", "1ab", "", "a" * 70]), scalars
)
MANIFEST_KEYS = {
    "name": st.one_of(names, scalars),
    "version": versions,
    "license": licenses,
    "description": texts,
    "author": st.one_of(texts, st.lists(texts, max_size=2)),
    "maintainer": texts,
    "homepage": st.one_of(urls, st.lists(urls, max_size=1)),
    "keywords": st.one_of(st.lists(texts, max_size=2), texts),
    "categories": st.lists(texts, max_size=2),
    "build": st.one_of(
        st.fixed_dictionaries({}, optional={"module-naming": module_namings}), scalars
    ),
    "library": st.fixed_dictionaries({}, optional={"source-dir": source_dirs}),
    "executable": st.one_of(targets, scalars),
    "test": targets,
    "example": targets,
    "dependencies": st.one_of(dependency_tables, scalars),
    "dev-dependencies": dependency_tables,
    "repository": short_text,
}
VALID_MANIFEST: dict[str, object] = {
    "name": "hello",
    "version": "1.0.0",
    "license": "MIT",
    "description": "Greets",
    "author": "Ada",
    "build": {"module-naming": True},
}


def _changed(keys: set[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries({key: MANIFEST_KEYS[key] for key in sorted(keys)})


# Half of them a random subset of keys with random values, half a valid manifest with
# one to three keys changed or removed, so that every check is reached.
manifests = st.one_of(
    st.fixed_dictionaries({}, optional=MANIFEST_KEYS),
    st.builds(
        lambda changes, removed: {
            k: v for k, v in {**VALID_MANIFEST, **changes}.items() if k not in removed
        },
        st.sets(st.sampled_from(sorted(MANIFEST_KEYS)), min_size=1, max_size=3).flatmap(_changed),
        st.sets(st.sampled_from(sorted(VALID_MANIFEST)), max_size=1),
    ),
)
module_names = st.sampled_from(
    ["hello", "hello__core", "hello_world", "fst", "fst_a", "utils", "test_helpers", "x"]
)
module_files = st.dictionaries(
    st.builds(
        "{}/{}.f90".format,
        st.sampled_from(["src", "app", "test", "example", "lib", "src/sub"]),
        st.sampled_from(["a", "b", "c"]),
    ),
    st.tuples(st.sampled_from(["module", "submodule"]), module_names).map(
        lambda kind_name: module_source(kind_name[1], kind=kind_name[0], parent="hello")
    ),
    max_size=3,
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    manifest=manifests,
    modules=module_files,
    readme=st.booleans(),
    license_file=st.booleans(),
    garbage=st.sampled_from(["", "", "", "[[[", "name = 1\nname = 2\n"]),
    form=st.one_of(st.none(), st.builds(UploadForm, names, versions.map(str), licenses.map(str))),
)
def test_random_manifests(
    client: TestClient,
    publisher: Publisher,
    tmp_path: Path,
    manifest: dict[str, object],
    modules: dict[str, str],
    readme: bool,
    license_file: bool,
    garbage: str,
    form: UploadForm | None,
) -> None:
    files: dict[str, str | bytes | None] = {
        "fpm.toml": toml_document(manifest) + garbage,
        "README.md": "# x\n" if readme else None,
        "LICENSE": "MIT\n" if license_file else None,
        "VERSION": "1.2.0\n",
        "src/hello.f90": None,
        **modules,
    }
    data = targz(with_files(files))
    inspection = check_random_package(client, publisher.token, data, tmp_path, form)
    if form is not None:
        # What the fpm endpoint says is what the client says with the same form.
        response = fpm_upload(client, publisher.token, data, form)
        if errors(inspection):
            assert_fpm_envelope_has(response, errors(inspection))
        else:
            assert fpm_json_problems(response.content) == []


plain_names = st.lists(
    st.sampled_from(["src", "app", "test", "doc", "x.f90", "a.txt", "README.md", "LICENSE",
                     "caf\u00e9", "\u03bb", " ", "y.o", "bin"]),
    min_size=1,
    max_size=3,
).map("/".join)  # fmt: skip
tricky_names = st.lists(
    st.sampled_from(
        ["src", "build", "..", ".", "", "fpm.toml", "a\\b", "C:", "z.mod", "lib.so", "./"]
    ),
    min_size=1,
    max_size=4,
).map("/".join) | st.sampled_from(["/etc/passwd", "./fpm.toml", "./src/a.f90", "//x"])  # fmt: skip
member_names = st.one_of(plain_names, tricky_names)
member_types = st.one_of(
    st.just(tarfile.REGTYPE),
    st.sampled_from(
        [tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE, b"Z"]
    ),
)
member_data = st.one_of(
    st.sampled_from(
        [
            b"",
            module_source("hello").encode(),
            module_source("other").encode(),
            ELF,
            PE,
            PRIVATE_KEY.encode(),
            f"token {FPMREG_TOKEN} {GITHUB_TOKEN}\n".encode(),
            AWS_KEY_ID.encode(),
            fpm_toml().encode(),
            b'name = "x\n',
            b"\xff\xfe\x00",
        ]
    ),
    st.binary(max_size=64),
)
members = st.builds(
    Entry,
    name=member_names,
    data=member_data,
    type=member_types,
    mode=st.one_of(st.just(0o644), st.sampled_from([0o755, 0o4755, 0o2755, 0o1777])),
    linkname=st.sampled_from(["", "fpm.toml", "/etc/passwd", "../.."]),
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=st.lists(members, max_size=6),
    manifest_at=st.one_of(st.none(), st.integers(0, 6)),
    tar_format=st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT]),
    encoding=st.sampled_from(["utf-8", "utf-8", "latin-1"]),
    wrapping=st.sampled_from(["gzip", "gzip", "gzip", "raw", "truncated", "trailing", "flipped"]),
    cut=st.integers(1, 2000),
)
def test_random_archives(
    client: TestClient,
    publisher: Publisher,
    tmp_path: Path,
    entries: list[Entry],
    manifest_at: int | None,
    tar_format: int,
    encoding: str,
    wrapping: str,
    cut: int,
) -> None:
    if manifest_at is not None:  # usually a good manifest somewhere in the archive
        entries.insert(manifest_at, Entry("fpm.toml", fpm_toml()))
    try:
        raw = tar_bytes(entries, format=tar_format, encoding=encoding)
    except (ValueError, UnicodeError):
        assume(False)  # a name this tar format or encoding cannot hold
    data = gz(raw)
    if wrapping == "raw":
        data = raw
    elif wrapping == "truncated":
        data = data[: max(1, len(data) - cut)]
    elif wrapping == "trailing":
        data += gzip.compress(b"more") if cut % 2 else b"trailing junk"
    elif wrapping == "flipped":
        at = 10 + cut % max(1, len(data) - 10)
        data = data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]
    check_random_package(client, publisher.token, data, tmp_path)
