"""SPDX 2.3 JSON (docs/sbom.md, "SPDX 2.3"): one package per component, the registry as
supplier, the purl and the log entry as external references, `DESCRIBES` and
`DEPENDS_ON` relationships."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from fpmreg.core.sbom.model import NOASSERTION, Component, SbomInput, spdx_license, timestamp

MEDIA_TYPE = "application/spdx+json"
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9.-]+")
# The URL form of SPDX 2.3's download location (spec clause 7.7) as pyspdxtools checks
# it: a host name that ends in a top-level domain. A registry on `localhost` or an IP
# address gives NOASSERTION instead (docs/sbom.md, "SPDX 2.3").
_DOWNLOAD_URL = re.compile(
    r"^https?://[a-z0-9]+([-.][a-z0-9]+){0,100}\.[a-z]{2,5}(:[0-9]{1,5})?(/.*)?$", re.I
)


def spdx_id(component: Component) -> str:
    """`SPDXRef-Package-<ns>-<name>-<version>-<hash>`: letters, digits, `.` and `-` only
    (an `_` becomes `-`), made unique by 8 hex digits of the package URL's sha256."""
    readable = _NOT_IN_ID.sub("-", f"{component.namespace}-{component.name}-{component.version}")
    tag = hashlib.sha256(component.purl.encode()).hexdigest()[:8]
    return f"SPDXRef-Package-{readable}-{tag}"


def supplier(sbom: SbomInput) -> str:
    """`Organization: <registry name> (<url>)`, SPDX's actor form (the e-mail slot)."""
    name = _NOT_IN_ACTOR.sub(" ", sbom.registry.name).strip() or "fpm registry"
    return (
        f"Organization: {name} ({sbom.registry.url})"
        if sbom.registry.url
        else (f"Organization: {name}")
    )


_NOT_IN_ACTOR = re.compile(r"[()\n\r:]+")


def _package(sbom: SbomInput, c: Component) -> dict[str, Any]:
    refs = [
        {
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": c.purl,
        }
    ]
    entry = sbom.log_entry_url(c)
    if entry:
        refs.append(
            {
                "referenceCategory": "OTHER",
                "referenceType": "fpmreg-log-entry",
                "referenceLocator": entry,
                "comment": f"release record at index {c.log_index} of the registry's "
                "transparency log",
            }
        )
    package: dict[str, Any] = {
        "name": c.key,
        "SPDXID": spdx_id(c),
        "versionInfo": c.version,
        "supplier": supplier(sbom),
        "downloadLocation": c.download_url if _DOWNLOAD_URL.match(c.download_url) else NOASSERTION,
        "filesAnalyzed": False,
    }
    if c.sha256:
        package["checksums"] = [{"algorithm": "SHA256", "checksumValue": c.sha256}]
    package |= {
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": spdx_license(c.license) or NOASSERTION,
        "copyrightText": NOASSERTION,
        "primaryPackagePurpose": "LIBRARY",
        "externalRefs": refs,
    }
    return package


def spdx2_document(sbom: SbomInput, created: datetime) -> dict[str, Any]:
    """The SPDX 2.3 document of `sbom`, created at `created`."""
    root = sbom.root
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": spdx_id(root),
        }
    ]
    for c in sbom.everything():
        relationships.extend(
            {
                "spdxElementId": spdx_id(c),
                "relationshipType": "DEPENDS_ON",
                "relatedSpdxElement": spdx_id(d),
            }
            for d in sbom.edges(c)
        )
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{root.key}@{root.version}",
        "documentNamespace": sbom.namespace_uri(created),
        "creationInfo": {
            "created": timestamp(created),
            "creators": [supplier(sbom), f"Tool: {sbom.tool}"],
        },
        "packages": [_package(sbom, c) for c in sbom.everything()],
        "relationships": relationships,
    }
