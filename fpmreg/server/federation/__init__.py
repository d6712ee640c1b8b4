"""Federation: the registry's signing keys, its signed records and its transparency log
(docs/transparency-log.md)."""
