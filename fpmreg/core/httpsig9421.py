"""HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530), as Mastodon 4.4 and
later send and accept them beside draft-cavage (docs/activitypub.md, "Signatures").

A signature covers an ordered list of components: derived ones (`@method`,
`@target-uri`, `@authority`, `@scheme`, `@path`, `@query`, `@request-target`,
`@query-param;name=...`) and header fields (by lower-case name). The signature base is
one `"name";params: value` line per component and a last `"@signature-params"` line
that repeats the list with its parameters (`created`, `expires`, `keyid`, `alg`,
`nonce`, `tag`). `Signature-Input` carries that list under a label and `Signature` the
signature, base64, under the same label; both are RFC 8941 dictionaries.

Algorithms: `rsa-v1_5-sha256` and `ed25519` (sign and verify), `rsa-pss-sha512`
(verify). A signature without `alg` is checked by its key: Ed25519, or RSA with
PKCS #1 v1.5 then PSS.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from fpmreg.core.httpsig import MAX_HEADER, SignatureError
from fpmreg.core.sfv import (
    InnerList,
    Item,
    Params,
    SfvError,
    Token,
    parse_dictionary,
    serialize_dictionary,
    serialize_member,
)

DERIVED = ("@method", "@target-uri", "@authority", "@scheme", "@path", "@query",
           "@request-target", "@query-param")  # fmt: skip
SIGNATURE_PARAMS = ("created", "expires", "keyid", "alg", "nonce", "tag")
ALGORITHMS = ("rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519")
DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_DEFAULT_PORTS = {"http": 80, "https": 443}

PublicKey = RSAPublicKey | Ed25519PublicKey
PrivateKey = RSAPrivateKey | Ed25519PrivateKey


@dataclass(frozen=True)
class Message:
    """A request as signed: method, absolute target URI and header fields. Header
    lookups are case-insensitive; a mapping with `getlist` (Starlette's, httpx's) gives
    every line of a repeated field."""

    method: str
    target_uri: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Signed:
    """One signature of a request: its label, covered components with parameters, and
    the signature bytes."""

    label: str
    covered: InnerList
    signature: bytes

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(str(item.value) for item in self.covered.items)

    def param(self, name: str) -> object:
        return self.covered.params.get(name)


def _field(headers: Mapping[str, str], name: str) -> str:
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        values = [str(v) for v in getlist(name)]
    else:
        values = [v for k, v in headers.items() if k.lower() == name]
    if not values:
        raise SignatureError(f"the signature covers `{name}` but the request has no such header")
    return ", ".join(" ".join(v.strip().splitlines()) for v in values)


def _authority(scheme: str, netloc: str) -> str:
    host, _, port = netloc.rpartition("@")[2].lower().rpartition(":")
    if host and port.isdigit() and _DEFAULT_PORTS.get(scheme) == int(port):
        return host
    return netloc.rpartition("@")[2].lower()


def _derived(message: Message, item: Item) -> str:
    name = str(item.value)
    parts = urlsplit(message.target_uri)
    path = parts.path or "/"
    query = f"?{parts.query}"
    if name == "@query-param":
        wanted = item.params.get("name")
        if not isinstance(wanted, str):
            raise SignatureError("`@query-param` needs a `name` parameter")
        found = [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == wanted]
        if len(found) != 1:
            raise SignatureError(f"the query has no single parameter `{wanted}`")
        return quote(found[0], safe="")
    values = {
        "@method": message.method.upper(),
        "@target-uri": message.target_uri,
        "@authority": _authority(parts.scheme.lower(), parts.netloc),
        "@scheme": parts.scheme.lower(),
        "@path": path,
        "@query": query,
        "@request-target": path + (query if parts.query else ""),
    }
    return values[name]


def _line(message: Message, item: Item) -> str:
    if not isinstance(item.value, str) or isinstance(item.value, Token):
        raise SignatureError("a covered component is a quoted string")
    name = item.value
    allowed = {"name"} if name == "@query-param" else set()
    if set(item.params) - allowed:
        raise SignatureError(f"component parameters {sorted(item.params)} are not supported")
    if name.startswith("@"):
        if name not in DERIVED:
            raise SignatureError(f"`{name}` is not a derived component of a request")
        value = _derived(message, item)
    elif name != name.lower():
        raise SignatureError(f"the header component `{name}` must be lower case")
    else:
        value = _field(message.headers, name)
    if "\n" in value or "\r" in value:
        raise SignatureError(f"the value of `{name}` has a line break")
    return f"{serialize_member(item)}: {value}"


def signature_base(message: Message, covered: InnerList) -> bytes:
    """The signature base (RFC 9421 section 2.5); `SignatureError` if a component is
    absent, repeated or unsupported."""
    lines, seen = [], set()
    for item in covered.items:
        identifier = serialize_member(item)
        if identifier in seen:
            raise SignatureError(f"the component {identifier} is covered twice")
        seen.add(identifier)
        lines.append(_line(message, item))
    lines.append(f'"@signature-params": {serialize_member(covered)}')
    return "\n".join(lines).encode()


def parse_signatures(signature_input: str, signature: str) -> list[Signed]:
    """Every labelled signature present in both headers; `SignatureError` if either is
    malformed or none pairs up."""
    if len(signature_input) > MAX_HEADER or len(signature) > MAX_HEADER:
        raise SignatureError("the Signature-Input or Signature header is too long")
    try:
        inputs = parse_dictionary(signature_input)
        values = parse_dictionary(signature)
    except SfvError as exc:
        raise SignatureError(f"Signature-Input or Signature is not RFC 8941: {exc}") from None
    out = []
    for label, covered in inputs.items():
        value = values.get(label)
        if value is None:
            continue
        if not isinstance(covered, InnerList):
            raise SignatureError(f"Signature-Input `{label}` is not a list of components")
        if not isinstance(value, Item) or not isinstance(value.value, bytes):
            raise SignatureError(f"Signature `{label}` is not a byte sequence (`:base64:`)")
        out.append(Signed(label, covered, value.value))
    if not out:
        raise SignatureError("no label is in both Signature-Input and Signature")
    return out


def _params(keyid: str, created: int, extra: Mapping[str, object]) -> Params:
    params: Params = {"created": created, "keyid": keyid}
    for name in SIGNATURE_PARAMS:
        value = extra.get(name)
        if value is not None:
            if not isinstance(value, int | str):
                raise SignatureError(f"the parameter `{name}` is a string or an integer")
            params[name] = value
    return params


def sign(
    key: PrivateKey, message: Message, components: Sequence[str], *, keyid: str, created: int,
    label: str = "sig1", params: Mapping[str, object] | None = None,
) -> tuple[str, str]:  # fmt: skip
    """`(Signature-Input, Signature)` header values signing `message` with `key`
    (`rsa-v1_5-sha256` for RSA); `params` may add `alg`, `expires`, `nonce`, `tag`."""
    items = tuple(_component(name) for name in components)
    covered = InnerList(items, _params(keyid, created, params or {}))
    base = signature_base(message, covered)
    if isinstance(key, Ed25519PrivateKey):
        raw = key.sign(base)
    else:
        raw = key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    return (serialize_dictionary({label: covered}), serialize_dictionary({label: Item(raw)}))


def _component(name: str) -> Item:
    head, _, param = name.partition(";name=")
    return Item(head, {"name": param.strip('"')} if param else {})


def verify(public: PublicKey, message: Message, signed: Signed, alg: str | None = None) -> None:
    """`SignatureError` unless `signed` signs `message` with `public`. The algorithm is
    `alg`, else the signature's `alg` parameter, else what the key's type implies."""
    chosen = alg or signed.param("alg")
    if chosen is not None and chosen not in ALGORITHMS:
        raise SignatureError(f"signature algorithm `{chosen}` is not one of {ALGORITHMS}")
    base = signature_base(message, signed.covered)
    if isinstance(public, Ed25519PublicKey):
        if chosen not in (None, "ed25519"):
            raise SignatureError(f"an Ed25519 key does not sign with `{chosen}`")
        try:
            public.verify(signed.signature, base)
        except InvalidSignature:
            raise SignatureError("the signature does not match the request and the key") from None
        return
    if chosen == "ed25519":
        raise SignatureError("an RSA key does not sign with `ed25519`")
    schemes = {"rsa-v1_5-sha256": _pkcs1, "rsa-pss-sha512": _pss}
    tried = [schemes[chosen]] if isinstance(chosen, str) else [_pkcs1, _pss]
    for check in tried:
        if check(public, signed.signature, base):
            return
    raise SignatureError("the signature does not match the request and the key")


def _pkcs1(public: RSAPublicKey, signature: bytes, base: bytes) -> bool:
    try:
        public.verify(signature, base, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _pss(public: RSAPublicKey, signature: bytes, base: bytes) -> bool:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    try:
        public.verify(signature, base, pss, hashes.SHA512())
    except InvalidSignature:
        return False
    return True


def content_digest(body: bytes, algorithms: Sequence[str] = ("sha-256",)) -> str:
    """The `Content-Digest` header of `body` (RFC 9530)."""
    return serialize_dictionary({name: Item(DIGESTS[name](body).digest()) for name in algorithms})


def check_content_digest(header: str, body: bytes) -> None:
    """`SignatureError` unless `header` has a SHA-256 or SHA-512 digest and every such
    digest matches `body`."""
    try:
        members = parse_dictionary(header)
    except SfvError as exc:
        raise SignatureError(f"the Content-Digest header is malformed: {exc}") from None
    known = {name: m for name, m in members.items() if name in DIGESTS}
    if not known:
        raise SignatureError("the Content-Digest header has no sha-256 or sha-512 digest")
    for name, member in known.items():
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise SignatureError(f"the Content-Digest `{name}` is not a byte sequence")
        if not hmac.compare_digest(member.value, DIGESTS[name](body).digest()):
            raise SignatureError("the Content-Digest header does not match the body")
