"""The registry's signing keys (docs/transparency-log.md, "Keys").

The keys folder holds `ed25519.key`, the current private key (PKCS#8 PEM, mode 0600),
and `retired/<key id>.pub`, the public keys of the keys it replaced, which stay
published so records signed before a rotation still verify. The key is created on first
use: written whole to a temporary file, then linked into place (which fails if the name
exists), so processes starting together agree on one key and none reads half a key.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from fpmreg.core.integrity import multikey
from fpmreg.core.tlog.note import COSIGNATURE, ED25519, Signer, Verifier

CURRENT = "ed25519.key"
WITNESS = "witness.key"
RSA_KEY = "rsa.key"  # for servers that verify only draft-cavage `rsa-sha256` signatures
RSA_BITS = 2048
RETIRED = "retired"


def log_origin(base_url: str) -> str:
    """The log's origin line and note key name: the base URL without its scheme, then
    `/log` (`registry.example/log`), as C2SP logs name themselves."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/log"


def witness_name(base_url: str) -> str:
    """The name this registry cosigns under as a witness (`registry.example/witness`)."""
    return log_origin(base_url).removesuffix("/log") + "/witness"


@dataclass(frozen=True)
class RegistryKeys:
    """The current key and every retired public key, with the names they sign under."""

    registry: str  # the base URL
    origin: str
    current: Ed25519PrivateKey
    retired: tuple[Ed25519PublicKey, ...]
    # A key of its own for cosigning other logs' checkpoints, so no signature made as a
    # witness can be taken for one made as a log.
    witness: Ed25519PrivateKey
    # The key ActivityPub deliveries are signed with (docs/activitypub.md).
    rsa: RSAPrivateKey

    @property
    def signer(self) -> Signer:
        """The checkpoint signer (a C2SP note key named after the log's origin)."""
        return Signer(self.origin, ED25519, self.current)

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    @property
    def witness_signer(self) -> Signer:
        """The cosignature key (C2SP tlog-cosignature, type 0x04)."""
        return Signer(witness_name(self.registry), COSIGNATURE, self.witness)

    def multikeys(self) -> list[str]:
        """The current key first, then the retired ones, as Multikeys."""
        return [multikey(self.current.public_key())] + [multikey(k) for k in self.retired]


def _write_new_key(path: Path, kind: str = "ed25519") -> bool:
    """Write a fresh key at `path` unless one is there; whether this call wrote it.

    The key is written whole to a temporary file first and then linked into place, which
    fails if the name exists: processes starting together agree on one key, and none of
    them ever reads a key half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return False
    fresh: Ed25519PrivateKey | RSAPrivateKey = (
        generate_private_key(65537, RSA_BITS) if kind == "rsa" else Ed25519PrivateKey.generate()
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(fresh.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
            out.flush()
            os.fsync(out.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def load_keys(folder: Path, base_url: str, *, create: bool = True) -> RegistryKeys:
    """The keys in `folder`, creating the current key if there is none and `create`."""
    if create:
        _write_new_key(folder / CURRENT)
        _write_new_key(folder / WITNESS)
        _write_new_key(folder / RSA_KEY, "rsa")
    key, witness = _private(folder / CURRENT), _private(folder / WITNESS)
    rsa_key = load_pem_private_key((folder / RSA_KEY).read_bytes(), password=None)
    if not isinstance(rsa_key, RSAPrivateKey):
        raise ValueError(f"{folder / RSA_KEY} is not an RSA private key")
    retired = []
    for pub in sorted((folder / RETIRED).glob("*.pub")):
        public = load_pem_public_key(pub.read_bytes())
        if isinstance(public, Ed25519PublicKey):
            retired.append(public)
    return RegistryKeys(base_url, log_origin(base_url), key, tuple(retired), witness, rsa_key)


def _private(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def rotate_keys(folder: Path, base_url: str) -> RegistryKeys:
    """Retire the current key (its public half stays published) and make a new one."""
    old = load_keys(folder, base_url)
    public = old.current.public_key()
    name = f"{old.verifier.id:08x}.pub"
    (folder / RETIRED).mkdir(parents=True, exist_ok=True)
    (folder / RETIRED / name).write_bytes(
        public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    fresh = folder / f"{CURRENT}.new"
    fresh.unlink(missing_ok=True)
    _write_new_key(fresh)
    os.replace(fresh, folder / CURRENT)
    return load_keys(folder, base_url)
