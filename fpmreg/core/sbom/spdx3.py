"""SPDX 3.0.1 JSON-LD (docs/sbom.md, "SPDX 3.0.1"): a `software_Sbom` in an
`SpdxDocument`, one `software_Package` per component supplied by the registry's
`Organization`, licences as `simplelicensing_LicenseExpression`s, `dependsOn`
relationships, the log entry as an `ExternalRef`."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from fpmreg.core.sbom.model import Component, SbomInput, spdx_license, timestamp

MEDIA_TYPE = "application/ld+json"
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
_INFO = "_:creationinfo"


def _tag(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _package(sbom: SbomInput, c: Component, ids: dict[str, str], org: str) -> dict[str, Any]:
    package: dict[str, Any] = {
        "type": "software_Package",
        "spdxId": ids[c.purl],
        "creationInfo": _INFO,
        "name": c.key,
        "software_packageVersion": c.version,
        "software_packageUrl": c.purl,
        "suppliedBy": org,
        "software_primaryPurpose": "library",
    }
    if c.download_url:
        package["software_downloadLocation"] = c.download_url
    if c.sha256:
        package["verifiedUsing"] = [{"type": "Hash", "algorithm": "sha256", "hashValue": c.sha256}]
    entry = sbom.log_entry_url(c)
    if entry:
        package["externalRef"] = [
            {
                "type": "ExternalRef",
                "externalRefType": "other",
                "locator": [entry],
                "comment": f"release record at index {c.log_index} of the registry's "
                "transparency log",
            }
        ]
    return package


def _relationship(base: str, kind: str, source: str, targets: list[str]) -> dict[str, Any]:
    return {
        "type": "Relationship",
        "spdxId": f"{base}#Relationship-{kind}-{_tag(source + ' ' + ' '.join(targets))}",
        "creationInfo": _INFO,
        "from": source,
        "relationshipType": kind,
        "to": targets,
    }


def _licences(sbom: SbomInput, base: str, ids: dict[str, str]) -> list[dict[str, Any]]:
    """One expression element per distinct valid licence, and who declares it."""
    graph: list[dict[str, Any]] = []
    declared: dict[str, list[str]] = {}
    for c in sbom.everything():
        expression = spdx_license(c.license)
        if expression is not None:
            declared.setdefault(expression, []).append(ids[c.purl])
    for expression in sorted(declared):
        licence_id = f"{base}#License-{_tag(expression)}"
        graph.append(
            {
                "type": "simplelicensing_LicenseExpression",
                "spdxId": licence_id,
                "creationInfo": _INFO,
                "simplelicensing_licenseExpression": expression,
            }
        )
        graph.extend(
            _relationship(base, "hasDeclaredLicense", p, [licence_id]) for p in declared[expression]
        )
    return graph


def spdx3_document(sbom: SbomInput, created: datetime) -> dict[str, Any]:
    """The SPDX 3.0.1 JSON-LD document of `sbom`, created at `created`."""
    base = sbom.namespace_uri(created)
    org, tool = f"{base}#Organization-registry", f"{base}#Tool-fpmreg"
    ids = {c.purl: f"{base}#Package-{_tag(c.purl)}" for c in sbom.everything()}
    packages = [_package(sbom, c, ids, org) for c in sbom.everything()]
    relations = [
        _relationship(base, "dependsOn", ids[c.purl], [ids[d.purl] for d in sbom.edges(c)])
        for c in sbom.everything()
        if sbom.edges(c)
    ]
    relations += _licences(sbom, base, ids)
    elements = [*packages, *relations]
    bom = {
        "type": "software_Sbom",
        "spdxId": f"{base}#Sbom",
        "creationInfo": _INFO,
        "name": f"SBOM of {sbom.root.key}@{sbom.root.version}",
        "software_sbomType": ["build"],
        "rootElement": [ids[sbom.root.purl]],
        "element": [e["spdxId"] for e in elements],
    }
    organization: dict[str, Any] = {
        "type": "Organization",
        "spdxId": org,
        "creationInfo": _INFO,
        "name": sbom.registry.name or "fpm registry",
    }
    if sbom.registry.url:
        organization["externalIdentifier"] = [
            {
                "type": "ExternalIdentifier",
                "externalIdentifierType": "urlScheme",
                "identifier": sbom.registry.url,
            }
        ]
    document = {
        "type": "SpdxDocument",
        "spdxId": f"{base}#SpdxDocument",
        "creationInfo": _INFO,
        "name": f"{sbom.root.key}@{sbom.root.version}",
        "profileConformance": ["core", "software", "simpleLicensing"],
        "rootElement": [bom["spdxId"]],
        "element": [org, tool, bom["spdxId"], *bom["element"]],
    }
    creation = {
        "type": "CreationInfo",
        "@id": _INFO,
        "specVersion": "3.0.1",
        "created": timestamp(created),
        "createdBy": [org],
        "createdUsing": [tool],
    }
    tool_element = {"type": "Tool", "spdxId": tool, "creationInfo": _INFO, "name": sbom.tool}
    return {
        "@context": CONTEXT,
        "@graph": [creation, organization, tool_element, document, bom, *elements],
    }
