"""The JSON-LD documents of the registry's verifiable credentials, unsigned
(docs/credentials.md): the issuer's Profile and controller document, the Open Badges 3.0
credential of a verified build, and the Bitstring Status List credential."""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
# `assertionMethod` of a controller document, as the Controlled Identifiers context
# defines it (docs/credentials.md, "Keys").
ASSERTION_METHOD = {
    "assertionMethod": {
        "@id": "https://w3id.org/security#assertionMethod",
        "@type": "@id",
        "@container": "@set",
    }
}
# The W3C Bitstring Status List minimum: 16 KiB of bits, so a set bit says little about
# which credential it is (docs/credentials.md, "Revocation").
STATUS_LIST_LENGTH = 131_072
PURPOSE = "revocation"


def stamp(when: Any) -> str:
    """An XML Schema dateTime in UTC with seconds (`2026-01-02T03:04:05Z`)."""
    return str(when.strftime("%Y-%m-%dT%H:%M:%SZ"))


def issuer_id(base: str) -> str:
    """The issuer's URL: its Profile and controller document."""
    return f"{base}/credentials/issuer"


def method_id(base: str, key: str) -> str:
    """The verification method of Multikey `key`: the issuer's URL and the key."""
    return f"{issuer_id(base)}#{key}"


def registry_name(base: str) -> str:
    """The registry's host (and path) as people name it: `registry.example`."""
    parts = urlsplit(base)
    return f"{parts.netloc}{parts.path.rstrip('/')}"


def issuer_profile(base: str) -> dict[str, Any]:
    """The issuer inside a credential: an Open Badges `Profile` of the registry."""
    return {
        "id": issuer_id(base),
        "type": ["Profile"],
        "name": registry_name(base),
        "url": base,
    }


def controller_document(base: str, keys: list[str]) -> dict[str, Any]:
    """The issuer's Profile with its keys as `assertionMethod` Multikeys, current first,
    then the retired ones, so credentials signed before a rotation still verify."""
    return {
        "@context": [VC_V2, OB_V3, MULTIKEY_V1, ASSERTION_METHOD],
        **issuer_profile(base),
        "assertionMethod": [
            {
                "id": method_id(base, key),
                "type": "Multikey",
                "controller": issuer_id(base),
                "publicKeyMultibase": key,
            }
            for key in keys
        ],
    }


@dataclass(frozen=True)
class Release:
    """What a build credential says about a release."""

    namespace: str
    package: str
    version: str
    sha256: str
    build_page: str  # the build verification result page (absolute URL)
    log_index: int | None  # the release record's transparency log entry


def purl(release: Release) -> str:
    """The release's package URL, `pkg:fpm/<namespace>/<name>@<version>`."""
    parts = (quote(release.namespace, safe=""), quote(release.package, safe=""))
    return f"pkg:fpm/{parts[0]}/{parts[1]}@{quote(release.version, safe='')}"


def credential_url(base: str, release: Release) -> str:
    """Where the release's build credential is served (the agreed URL)."""
    return f"{base}/credentials/{release.namespace}/{release.package}/{release.version}/build"


def status_list_url(base: str, list_id: int) -> str:
    """Where status list `list_id` is served."""
    return f"{base}/credentials/status/{list_id}"


def _log_evidence(base: str, index: int, what: str) -> dict[str, Any]:
    """Evidence pointing at transparency log entry `index`, the signed record of `what`."""
    return {
        "id": f"{base}/api/v1/log/entries/{index}",
        "type": ["Evidence"],
        "name": f"Transparency log entry {index}",
        "description": f"The signed record of {what}, with its inclusion proof in the "
        "registry's transparency log.",
    }


def build_credential(
    base: str, release: Release, valid_from: str, list_id: int, index: int
) -> dict[str, Any]:
    """The unsigned Open Badges 3.0 credential that `release` passed a build
    verification on this registry (docs/credentials.md, "What is issued")."""
    name = registry_name(base)
    evidence: list[dict[str, Any]] = [
        {
            "id": release.build_page,
            "type": ["Evidence"],
            "name": "Build verification result",
            "description": "The registry's signed verdict: the release's tarball built "
            "and its tests passed in the registry's sandbox.",
        }
    ]
    if release.log_index is not None:
        evidence.append(_log_evidence(base, release.log_index, "the release's publication"))
    return {
        "@context": [VC_V2, OB_V3],
        "id": credential_url(base, release),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{release.namespace}/{release.package} {release.version}: build verified",
        "issuer": issuer_profile(base),
        "validFrom": valid_from,
        "credentialSubject": _subject(
            release,
            {
                "id": f"{base}/credentials/achievements/build",
                "type": ["Achievement"],
                "name": f"Build verified by {name}",
                "description": f"{name} built the release from its published tarball and "
                "ran its tests, and they passed.",
                "criteria": {
                    "narrative": "The release's tarball, with the sha256 named in the "
                    "subject's identifier, was built with fpm and its tests run in the "
                    f"sandbox of {name}, offline, and the build and the tests passed.",
                },
            },
        ),
        "evidence": evidence,
        "credentialStatus": _status(base, list_id, index),
    }


@dataclass(frozen=True)
class PolicyPass:
    """What a policy credential says: a community's policy passed the release, by the
    signed verdict at `verdict_url` (docs/credentials.md, "Policy credentials")."""

    community: str  # the community's name on this registry
    slug: str  # the policy's slug
    policy_uri: str  # the policy version the verdict evaluated (`…/versions/{n}`)
    verdict_url: str  # the signed verdict document
    verdict_record: str  # its API record, which names its transparency log entry


def policy_credential_url(base: str, release: Release, passed: PolicyPass) -> str:
    """Where the release's credential for one community policy is served."""
    return (
        f"{base}/credentials/{release.namespace}/{release.package}/{release.version}"
        f"/policies/{passed.community}/{passed.slug}"
    )


def _subject(release: Release, achievement: dict[str, Any]) -> dict[str, Any]:
    """The credential's subject: the release by package URL and tarball digest."""
    return {
        "id": purl(release),
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "ext:sha256",
                "hashed": False,
                "identityHash": release.sha256,
            }
        ],
        "achievement": achievement,
    }


def _status(base: str, list_id: int, index: int) -> dict[str, Any]:
    statuses = status_list_url(base, list_id)
    return {
        "id": f"{statuses}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": statuses,
    }


def policy_credential(
    base: str, release: Release, passed: PolicyPass, valid_from: str, list_id: int, index: int
) -> dict[str, Any]:
    """The unsigned Open Badges 3.0 credential that `release` passed a community's
    policy on this registry; its evidence is the signed verdict and its log entry."""
    evidence: list[dict[str, Any]] = [
        {
            "id": passed.verdict_url,
            "type": ["Evidence"],
            "name": "Signed policy verdict",
            "description": "The registry's signed verdict (a SLSA verification summary): "
            "the policy, its digest, the audits it rests on and the result PASSED.",
        }
    ]
    evidence.append(
        {
            "id": passed.verdict_record,
            "type": ["Evidence"],
            "name": "The verdict's record",
            "description": "The verdict as the registry lists it, with the index of its "
            "signed record in the registry's transparency log.",
        }
    )
    title = f"policy `{passed.slug}` of community `{passed.community}`"
    achievement = {
        "id": f"{base}/credentials/achievements/policies/{passed.community}/{passed.slug}",
        "type": ["Achievement"],
        "name": f"Passes {title}",
        "description": f"The release meets {title} on {registry_name(base)}.",
        "criteria": {
            "id": passed.policy_uri,
            "narrative": "The registry evaluated the policy at the criteria's URL against "
            "the community's accepted audits of the tarball with the sha256 named in the "
            "subject's identifier, and every criterion the policy requires was certified.",
        },
    }
    return {
        "@context": [VC_V2, OB_V3],
        "id": policy_credential_url(base, release, passed),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{release.namespace}/{release.package} {release.version}: passes {title}",
        "issuer": issuer_profile(base),
        "validFrom": valid_from,
        "credentialSubject": _subject(release, achievement),
        "evidence": evidence,
        "credentialStatus": _status(base, list_id, index),
    }


def encode_bits(bits: bytes) -> str:
    """A status bitstring as `encodedList`: multibase base64url (`u`) of its GZIP."""
    packed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_bits(encoded: str) -> bytes:
    """The bitstring of an `encodedList`."""
    body = encoded.removeprefix("u")
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def with_bits(bits: bytes, revoked: list[int]) -> bytes:
    """`bits` with the bit of each index of `revoked` set; index 0 is the left-most bit
    of the first byte (W3C Bitstring Status List)."""
    out = bytearray(bits)
    for index in revoked:
        out[index // 8] |= 0x80 >> (index % 8)
    return bytes(out)


def bit(bits: bytes, index: int) -> bool:
    """Whether the bit of `index` is set."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    base: str, list_id: int, revoked: list[int], valid_from: str
) -> dict[str, Any]:
    """The unsigned status list credential `list_id`, the bits of `revoked` set."""
    url = status_list_url(base, list_id)
    bits = with_bits(bytes(STATUS_LIST_LENGTH // 8), revoked)
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(base),
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "encodedList": encode_bits(bits),
        },
    }
