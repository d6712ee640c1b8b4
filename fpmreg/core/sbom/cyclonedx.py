"""CycloneDX 1.6 JSON (docs/sbom.md, "CycloneDX 1.6"): the root in `metadata.component`,
one `library` component per package (`bom-ref` its purl), the registry as supplier, the
log index as a property and an external reference, and the dependency graph."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fpmreg.core.sbom.model import Component, SbomInput, spdx_license, timestamp

MEDIA_TYPE = "application/vnd.cyclonedx+json; version=1.6"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"
LOG_INDEX_PROPERTY = "fpmreg:log-index"


def _supplier(sbom: SbomInput) -> dict[str, Any]:
    supplier: dict[str, Any] = {"name": sbom.registry.name or "fpm registry"}
    if sbom.registry.url:
        supplier["url"] = [sbom.registry.url]
    return supplier


def _licenses(c: Component) -> list[dict[str, Any]]:
    """The SPDX expression, or the declared text as a licence `name` when it is not one."""
    expression = spdx_license(c.license)
    if expression is not None:
        return [{"expression": expression}]
    text = c.license.strip()
    return [{"license": {"name": text}}] if text else []


def _component(sbom: SbomInput, c: Component) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": c.purl,
        "supplier": _supplier(sbom),
        "group": c.namespace,
        "name": c.name,
        "version": c.version,
    }
    if c.sha256:
        component["hashes"] = [{"alg": "SHA-256", "content": c.sha256}]
    licenses = _licenses(c)
    if licenses:
        component["licenses"] = licenses
    component["purl"] = c.purl
    refs = []
    if c.download_url:
        refs.append({"type": "distribution", "url": c.download_url})
    entry = sbom.log_entry_url(c)
    if entry:
        refs.append(
            {
                "type": "attestation",
                "url": entry,
                "comment": f"release record at index {c.log_index} of the registry's "
                "transparency log",
            }
        )
    if refs:
        component["externalReferences"] = refs
    if c.log_index is not None:
        component["properties"] = [{"name": LOG_INDEX_PROPERTY, "value": str(c.log_index)}]
    return component


def cyclonedx_document(sbom: SbomInput, created: datetime) -> dict[str, Any]:
    """The CycloneDX 1.6 document of `sbom`, created at `created`."""
    return {
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": sbom.serial_number(created),
        "version": 1,
        "metadata": {
            "timestamp": timestamp(created),
            "tools": {
                "components": [
                    {"type": "application", "name": "fpmreg", "version": sbom.tool_version}
                ]
            },
            "authors": [{"name": sbom.registry.name or "fpm registry"}],
            "supplier": _supplier(sbom),
            "component": _component(sbom, sbom.root),
        },
        "components": [_component(sbom, c) for c in sbom.components],
        "dependencies": [
            {"ref": c.purl, "dependsOn": [d.purl for d in sbom.edges(c)]} for c in sbom.everything()
        ],
    }
