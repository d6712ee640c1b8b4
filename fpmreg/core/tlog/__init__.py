"""The registry's transparency log in the C2SP formats: the RFC 6962 Merkle tree and its
proofs (`merkle`), signed notes and checkpoints (`note`). Pure: hashlib and
`cryptography`'s Ed25519 only (docs/transparency-log.md)."""
