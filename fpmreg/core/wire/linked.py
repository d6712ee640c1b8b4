"""Linked data on the wire: the CodeMeta 3.0 document of a release and the index of the
metadata dumps (docs/linked-data.md)."""

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


class DumpEntry(WireModel):
    """One daily dump of every package's public metadata."""

    date: str = Field(description="UTC day, `YYYY-MM-DD`")
    url: str = Field(description="`/dumps/{date}.jsonl.gz`")
    size: int = Field(description="bytes of the gzip file")
    sha256: str = Field(description="of the gzip file")
    packages: int = Field(description="lines after the header: one per package")
    license: str = Field(description="`CC0-1.0`")
    created_at: str = Field(description="UTC time, `YYYY-MM-DDTHH:MM:SSZ`")


class DumpIndex(WireModel):
    """Every dump kept, newest first."""

    license: str = Field(description="the licence of the metadata in every dump, `CC0-1.0`")
    dumps: list[DumpEntry]
