"""The SBOM specifications' own tools, as one function per format: each returns the
problems it found (empty: valid and NTIA-conformant). docs/sbom.md, "Validation"."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from ntia_conformance_checker import SbomChecker
from spdx_python_model import v3_0_1 as spdx3
from spdx_tools.spdx.parser.error import SPDXParsingError
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document


def _file(body: bytes, suffix: str) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)  # noqa: SIM115
    with handle:
        handle.write(body)
    return Path(handle.name)


def _ntia(path: Path, spec: str) -> list[str]:
    checker = SbomChecker(str(path), compliance="ntia", sbom_spec=spec)
    problems = [f"ntia: {m}" for m in checker.parsing_errors]
    problems += [f"ntia: {m.validation_message}" for m in checker.validation_messages]
    if not checker.compliant:
        problems.append(
            "ntia: not compliant: "
            + json.dumps(
                {
                    "without supplier": checker.components_without_suppliers,
                    "without version": checker.components_without_versions,
                    "without identifier": checker.components_without_identifiers,
                    "author": checker.doc_author,
                    "timestamp": checker.doc_timestamp,
                    "dependencies": checker.dependency_relationships,
                },
                default=str,
            )
        )
    return problems


def spdx2_problems(body: bytes) -> list[str]:
    """pyspdxtools' parser and `validate_full_spdx_document`, then the NTIA checker."""
    path = _file(body, ".spdx.json")
    try:
        document = parse_file(str(path))
    except SPDXParsingError as exc:
        return [f"spdx-tools: {m}" for m in exc.get_messages()]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"spdx-tools: {exc!r}"]
    problems = [
        f"spdx-tools: {m.validation_message}" for m in validate_full_spdx_document(document)
    ]
    return problems + _ntia(path, "spdx2")


def spdx3_problems(body: bytes) -> list[str]:
    """spdx-python-model: deserialise into a `SHACLObjectSet` (types and values), link
    every reference (none dangling), serialise again (required properties and counts);
    then the NTIA checker's SPDX 3 mode."""
    objects = spdx3.SHACLObjectSet()
    try:
        spdx3.JSONLDDeserializer().read(io.StringIO(body.decode()), objects)
        missing = objects.link()
        spdx3.JSONLDSerializer().write(objects, io.BytesIO())
    except (ValueError, KeyError, TypeError) as exc:
        return [f"spdx-python-model: {exc!r}"]
    problems = [f"spdx-python-model: dangling reference {i}" for i in sorted(missing)]
    if not list(objects.foreach_type(spdx3.SpdxDocument)):
        problems.append("spdx-python-model: no SpdxDocument")
    return problems + _ntia(_file(body, ".spdx3.json"), "spdx3")


def cyclonedx_problems(body: bytes) -> list[str]:
    """cyclonedx-python-lib's `JsonStrictValidator` for CycloneDX 1.6."""
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(body.decode())
    return [] if error is None else [f"cyclonedx: {error}"]


PROBLEMS = {
    "spdx-2.3": spdx2_problems,
    "spdx-3.0": spdx3_problems,
    "cyclonedx-1.6": cyclonedx_problems,
}
