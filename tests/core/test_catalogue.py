"""The catalogue lists exactly the codes the checks emit, with the severity they use.

The source of `fpmreg/` is read, not imported. Every `Problem(...)` call is found with
`ast` (so calls spread over several lines count); a function that passes its own
parameter as the code (`bad(code, what)` in archive.py, `_warning(code, ...)` in
checks.py) is a helper, and calls to it are read the same way. A code is resolved when
it is a literal, a conditional of literals or a local variable holding them. A regex
over the same text must find nothing the parser missed.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

import fpmreg
from fpmreg.client.cli import app as cli_app
from fpmreg.core.catalogue import CATALOGUE
from fpmreg.core.problem import Severity

SOURCE = Path(fpmreg.__file__).parent
FILES = sorted(p for p in SOURCE.rglob("*.py") if "migrations" not in p.parts)
# The server's exceptions, which carry a code too (`fpmreg.server.errors`).
DOMAIN_ERRORS = {
    "DomainError",
    "InvalidInput",
    "Unauthenticated",
    "Forbidden",
    "NotFound",
    "Conflict",
    "TooLarge",
    "RateLimited",
    "BodyTooLarge",
}
# The publish path on the server: the server-side package checks live here, and any
# other code it answers with is about the request itself.
PUBLISH_PATH = {
    "server/packages/service.py": {
        "publish_version",
        "publish_as",
        "_check_new_version",
        "_create_package",
        "registry_problems",
        "_prefix_taken",
        "_claim_prefix",
        "_refuse_confusable",
    },
    "server/packages/publishing.py": {"publish", "_inspect", "_store_version"},
    "server/packages/api.py": {"publish", "_bearer_token", "_publish_fields"},
    "server/packages/fpm_api.py": {"publish"},
    "server/ratelimit.py": {"refusal"},  # the publish rate limits
}
# Refusals on the publish path that are not package checks: no file, a bad header.
REQUEST_LEVEL = {"tarball-missing", "authorization-scheme"}
# Package checks the server answers under a code the catalogue does not list (a bug).
MISCODED: set[str] = set()  # codes that should have been catalogue codes: none left


@dataclass(frozen=True)
class Emission:
    """One call that makes a problem or a server error with a known code."""

    code: str
    path: str
    function: str
    line: int
    maker: str
    severity: Severity


def _name_of(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


PARAMETER = "parameter"  # the code is the enclosing function's parameter
FORWARDED = "forwarded"  # the code comes from another problem or an answer


# The module-level string constants of the file being read (`LOG_TILE_MISSING = "..."`),
# so a code named by a constant of its own module resolves too.
_MODULE_CONSTANTS: dict[str, set[str]] = {}


def _module_constants(tree: ast.Module) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in node.targets:  # type: ignore[attr-defined]
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, set()).add(value.value)
    return found


def _strings(expr: ast.expr, scope: ast.AST | None) -> set[str] | str:
    """The codes `expr` can be, or PARAMETER / FORWARDED when chosen elsewhere."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        body, orelse = _strings(expr.body, scope), _strings(expr.orelse, scope)
        assert isinstance(body, set) and isinstance(orelse, set)
        return body | orelse
    if isinstance(expr, ast.Name) and isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        arguments = scope.args
        params = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        if expr.id in params:
            return PARAMETER
        found: set[str] = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == expr.id for t in node.targets
            ):
                values = _strings(node.value, scope)
                if not isinstance(values, set):
                    return FORWARDED
                found |= values
        found = found or _MODULE_CONSTANTS.get(expr.id, set())
        assert found, f"cannot resolve `{expr.id}` at line {expr.lineno}"
        return found
    if isinstance(expr, ast.Attribute | ast.Call | ast.Subscript):
        return FORWARDED
    raise AssertionError(f"a code that is not a literal at line {expr.lineno}: {ast.dump(expr)}")


def _severity(call: ast.Call) -> Severity:
    given = [*call.args[3:4], *(k.value for k in call.keywords if k.arg == "severity")]
    for expr in given:
        if isinstance(expr, ast.Attribute) and expr.attr == "WARNING":
            return Severity.WARNING
        if isinstance(expr, ast.Name) and expr.id == "W":
            return Severity.WARNING
    return Severity.ERROR


def _calls(tree: ast.AST) -> Iterator[tuple[ast.Call, ast.AST | None]]:
    """Every call with the innermost function around it."""

    def walk(node: ast.AST, scope: ast.AST | None) -> Iterator[tuple[ast.Call, ast.AST | None]]:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
            if isinstance(child, ast.Call):
                yield child, scope
            yield from walk(child, inner)

    yield from walk(tree, None)


def _first_argument(call: ast.Call) -> ast.expr | None:
    first = call.args[0] if call.args else None
    first = next((k.value for k in call.keywords if k.arg == "code"), first)
    return None if first is None or isinstance(first, ast.Starred) else first


def _trees() -> Iterator[tuple[str, ast.Module]]:
    for path in FILES:
        relative = path.relative_to(SOURCE).as_posix()
        tree = ast.parse(path.read_text(), filename=relative)
        _MODULE_CONSTANTS.clear()
        _MODULE_CONSTANTS.update(_module_constants(tree))
        yield relative, tree


def find_helpers() -> dict[tuple[str, str], Severity]:
    """Functions that make a `Problem` from a code they are given: (file, name) and the
    severity they give it."""
    helpers = {}
    for relative, tree in _trees():
        for call, scope in _calls(tree):
            first = _first_argument(call)
            is_problem = _name_of(call.func) == "Problem" and first is not None
            if is_problem and _strings(first, scope) == PARAMETER:  # type: ignore[arg-type]
                helpers[(relative, getattr(scope, "name", ""))] = _severity(call)
    return helpers


HELPERS = find_helpers()


def scan() -> tuple[list[Emission], list[Emission], set[tuple[str, str]]]:
    """(problem emissions, server error emissions, forwarding sites) in `fpmreg/`."""
    problems: list[Emission] = []
    server_errors: list[Emission] = []
    forwards: set[tuple[str, str]] = set()
    for relative, tree in _trees():
        helpers = {name: sev for (path, name), sev in HELPERS.items() if path == relative}
        for call, scope in _calls(tree):
            maker = _name_of(call.func)
            if maker not in {"Problem", *helpers} | DOMAIN_ERRORS:
                continue
            first = _first_argument(call)
            if first is None:
                continue
            codes = _strings(first, scope)
            function = getattr(scope, "name", "")
            if codes == FORWARDED:
                forwards.add((relative, function))
            if not isinstance(codes, set):
                continue
            if maker in DOMAIN_ERRORS:
                into, severity = server_errors, Severity.ERROR
            else:
                into, severity = problems, helpers.get(maker, Severity.ERROR)
                severity = Severity.WARNING if _severity(call) is Severity.WARNING else severity
            into.extend(
                Emission(c, relative, function, call.lineno, maker, severity) for c in codes
            )
    return problems, server_errors, forwards


def upload_check_files() -> set[str]:
    """`core/checks.py` and the core modules it imports, directly or not, and the
    server's publish service: the files whose problems are upload checks."""
    files, todo = set(), ["core/checks.py"]
    while todo:
        relative = todo.pop()
        if relative in files:
            continue
        files.add(relative)
        for node in ast.walk(ast.parse((SOURCE / relative).read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fpmreg.core."):
                todo.append(node.module.removeprefix("fpmreg.").replace(".", "/") + ".py")  # type: ignore[union-attr]
    return files | {"server/packages/service.py"}


PROBLEMS, SERVER_ERRORS, FORWARDS = scan()
UPLOAD_FILES = upload_check_files()
CHECK_PROBLEMS = [e for e in PROBLEMS if e.path in UPLOAD_FILES]
OTHER_PROBLEMS = [e for e in PROBLEMS if e.path not in UPLOAD_FILES]
CHECK_CODES = {e.code for e in CHECK_PROBLEMS}
SERVER_ERROR_CODES = {e.code for e in SERVER_ERRORS}
PUBLISH_ERROR_CODES = {
    e.code for e in SERVER_ERRORS if e.function in PUBLISH_PATH.get(e.path, set())
}


def test_the_scan_finds_the_helpers_and_what_a_regex_finds() -> None:
    assert {("core/archive.py", "bad"), ("core/checks.py", "_warning")} <= set(HELPERS)
    assert HELPERS[("core/checks.py", "_warning")] is Severity.WARNING
    makers = "|".join(sorted({"Problem", *(name for _, name in HELPERS)}))
    pattern = re.compile(rf"\b(?:{makers})\(\s*\"([a-z0-9-]+)\"")
    by_regex = {code for path in FILES for code in pattern.findall(path.read_text())}
    assert by_regex, "the regex finds the literal codes"
    assert by_regex <= {e.code for e in PROBLEMS}, by_regex - {e.code for e in PROBLEMS}
    # Multi-line calls (the code on the line after `Problem(`) are among them.
    assert any("Problem(\n" in path.read_text() for path in FILES)


def test_the_upload_checks_are_where_the_scan_looks() -> None:
    assert {"core/archive.py", "core/manifest.py", "core/names.py", "core/license.py"} < (
        UPLOAD_FILES
    )
    for path, functions in PUBLISH_PATH.items():
        tree = ast.parse((SOURCE / path).read_text())
        defined = {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert functions <= defined, (path, functions - defined)


def test_no_upload_check_forwards_a_code_chosen_elsewhere() -> None:
    """Only the client (relaying the registry's answers), the wire format (reading them)
    and the server's error handlers pass on codes they did not choose; the checks name
    theirs."""
    assert [site for site in FORWARDS if site[0] in UPLOAD_FILES] == []
    relays = {"client/registry.py", "core/wire/errors.py", "server/http.py"}
    assert {path for path, _ in FORWARDS} <= relays


def test_every_emitted_upload_check_code_is_in_the_catalogue() -> None:
    missing = sorted({(e.code, e.path, e.line) for e in CHECK_PROBLEMS if e.code not in CATALOGUE})
    assert missing == []


def test_every_catalogue_entry_is_emitted_somewhere() -> None:
    assert set(CATALOGUE) - CHECK_CODES - PUBLISH_ERROR_CODES == set()


def test_client_side_entries_are_emitted_by_core_and_server_only_ones_by_the_server() -> None:
    emitted = [*CHECK_PROBLEMS, *SERVER_ERRORS]
    core = {e.code for e in emitted if e.path.startswith("core/")}
    server = {e.code for e in emitted if e.path.startswith("server/")}
    for code, info in CATALOGUE.items():
        if info.server_only:
            assert code in server and code not in core, code
        else:
            assert code in core, code


def test_warnings_in_the_catalogue_are_exactly_the_codes_emitted_as_warnings() -> None:
    warned = {e.code for e in CHECK_PROBLEMS if e.severity is Severity.WARNING}
    listed = {code for code, info in CATALOGUE.items() if info.severity is Severity.WARNING}
    assert warned == listed
    # And no code is emitted as an error in one place and a warning in another.
    for emission in CHECK_PROBLEMS:
        assert emission.severity is CATALOGUE[emission.code].severity, emission


def test_problems_that_are_not_upload_checks_do_not_reuse_a_check_code_differently() -> None:
    """Other problems (the resolver's, the client's) may share a code with a check only
    when they mean the same (the same severity, at least)."""
    for emission in OTHER_PROBLEMS:
        if emission.code in CATALOGUE:
            assert emission.severity is CATALOGUE[emission.code].severity, emission


def test_the_publish_path_answers_only_catalogued_or_request_level_codes() -> None:
    assert PUBLISH_ERROR_CODES - set(CATALOGUE) - REQUEST_LEVEL - MISCODED == set()


def test_no_package_check_is_answered_under_an_uncatalogued_code() -> None:
    assert not PUBLISH_ERROR_CODES & MISCODED


def test_catalogue_entries_are_well_formed() -> None:
    for code, info in CATALOGUE.items():
        assert info.code == code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code)
        assert info.title and info.reason
        assert isinstance(info.severity, Severity)


# Where people read the catalogue -------------------------------------------------------


def test_checks_page_lists_every_code(client: TestClient) -> None:
    page = client.get("/checks")
    assert page.status_code == 200
    for code, info in CATALOGUE.items():
        row = re.search(rf'<tr id="{re.escape(code)}">(.*?)</tr>', page.text, re.DOTALL)
        assert row is not None, code
        assert f"<code>{code}</code>" in row.group(1)
        assert str(info.severity) in row.group(1)
        assert ("server" if info.server_only else "client and server") in row.group(1)


def test_checks_api_returns_every_check(client: TestClient) -> None:
    response = client.get("/api/v1/checks")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert [c["code"] for c in checks] == list(CATALOGUE)
    for check in checks:
        info = CATALOGUE[check["code"]]
        assert check == {
            "code": info.code,
            "severity": str(info.severity),
            "title": info.title,
            "reason": info.reason,
            "server_only": info.server_only,
        }


def test_fpmreg_check_list_matches_the_api(client: TestClient) -> None:
    result = CliRunner().invoke(cli_app, ["check", "--list", "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == client.get("/api/v1/checks").json()["checks"]
