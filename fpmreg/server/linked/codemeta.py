"""A release as linked data: schema.org's `SoftwareSourceCode` for the package page's
JSON-LD, and a CodeMeta 3.0 document (docs/linked-data.md, "Package pages", "CodeMeta")."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from license_expression import ExpressionError, Licensing, get_spdx_licensing

from fpmreg.server.linked.codemeta_repository import repository_link
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.packages.schemas import tarball_path

SCHEMA_ORG = "https://schema.org"  # vendored: contexts/schema-org.json
CODEMETA_3 = "https://w3id.org/codemeta/3.0"  # vendored: contexts/codemeta-3.0.json
SPDX_LICENSES = "https://spdx.org/licenses/"
# An e-mail address inside fpm.toml's free-text `author`/`maintainer` is left out of
# linked data: harvesters of JSON-LD are also harvesters of addresses.
_EMAIL = re.compile(r"<?[^\s<>@,;]+@[^\s<>@,;]+>?")
# What `</script>` and HTML comments would need: escaped as JSON allows (`\u003c`), so
# the JSON inside a `<script>` element can never end it early.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                  "\u2028": "\\u2028", "\u2029": "\\u2029"}  # fmt: skip


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def license_urls(expression: str) -> list[str]:
    """The spdx.org URL of each licence and exception an SPDX expression names
    (`Apache-2.0 OR MIT` gives two); `LicenseRef-` ones have no such page."""
    try:
        keys = _licensing().license_keys(expression)
    except ExpressionError:
        return []
    return [SPDX_LICENSES + key for key in keys if not key.startswith("LicenseRef-")]


def _people(text: str, kind: str) -> list[dict[str, str]]:
    """fpm.toml's `author` or `maintainer` as people, addresses removed; fpm writes
    one string, several names separated by commas or `and`."""
    names = re.split(r",|\band\b|;", _EMAIL.sub("", text))
    return [{kind: "Person", "name": n.strip()} for n in names if n.strip()][:20]


def _requirements(base_url: str, version: Version) -> list[str]:
    """The registry dependencies (not the dev ones) as their package pages' URLs."""
    return [
        f"{base_url}/project/{d['namespace']}/{d['name']}"
        for d in version.dependencies
        if d.get("kind") == "registry" and d.get("scope") == "dependencies" and d.get("namespace")
    ]


def _common(base_url: str, package: Package, version: Version, kind: str) -> dict[str, Any]:
    """The terms both vocabularies spell alike; `kind` is `@type` or CodeMeta's `type`."""
    ns, name = package.namespace.name, package.name
    page = f"{base_url}/project/{ns}/{name}/{version.version}"
    document: dict[str, Any] = {
        kind: "SoftwareSourceCode",
        "name": f"{ns}/{name}",
        "identifier": f"pkg:fpm/{ns}/{name}@{version.version}",
        "version": version.version,
        "description": version.description,
        "license": license_urls(version.license),
        "codeRepository": repository_link(version),
        "programmingLanguage": "Fortran",
        "url": page,
        "downloadUrl": base_url + tarball_path(ns, name, version.version),
        "datePublished": version.published_at.date().isoformat(),
        "dateModified": version.published_at.date().isoformat(),
        "keywords": list(version.keywords),
        "author": _people(version.author, kind),
        "maintainer": _people(version.maintainer, kind),
        "softwareRequirements": _requirements(base_url, version),
    }
    return {key: value for key, value in document.items() if value}


def software_source_code(base_url: str, package: Package, version: Version) -> dict[str, Any]:
    """schema.org's `SoftwareSourceCode` of a release, for the package page."""
    document = _common(base_url, package, version, "@type")
    return {"@context": SCHEMA_ORG, "@id": document["url"], **document}


def codemeta_document(base_url: str, package: Package, version: Version) -> dict[str, Any]:
    """The CodeMeta 3.0 document of a release."""
    document = _common(base_url, package, version, "type")
    return {"@context": CODEMETA_3, "id": document["url"], **document}


def script_json(document: dict[str, Any]) -> str:
    """`document` as JSON that is safe as the text of a `<script>` element."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return "".join(_SCRIPT_UNSAFE.get(char, char) for char in text)
