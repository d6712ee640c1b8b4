"""Linked data about releases: SBOMs, README badges, verifiable credentials, CodeMeta and
the metadata dump (docs/sbom.md, docs/badges.md, docs/linked-data.md)."""
