"""Linked data on the wire: the CodeMeta 3.0 document of a release (docs/linked-data.md)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from fpmreg.core.wire import WireModel


class Person(WireModel):
    """An author or maintainer as fpm.toml names them (addresses left out)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    type: str = Field(description="`Person`")
    name: str


class CodeMetaDocument(WireModel):
    """A release in CodeMeta 3.0 (JSON-LD, `@context` `https://w3id.org/codemeta/3.0`).
    Empty terms are left out."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    context: str = Field(alias="@context", description="`https://w3id.org/codemeta/3.0`")
    id: str = Field(description="the release's page")
    type: str = Field(description="`SoftwareSourceCode`")
    name: str = Field(description="`namespace/name`")
    identifier: str = Field(description="the release's purl, `pkg:fpm/namespace/name@version`")
    version: str
    description: str = ""
    license: list[str] = Field([], description="spdx.org URLs of the licences named")
    codeRepository: str = ""
    programmingLanguage: str = Field(description="`Fortran`")
    url: str
    downloadUrl: str
    datePublished: str
    dateModified: str
    keywords: list[str] = []
    author: list[Person] = []
    maintainer: list[Person] = []
    softwareRequirements: list[str] = Field(
        [], description="the registry dependencies' package pages"
    )
