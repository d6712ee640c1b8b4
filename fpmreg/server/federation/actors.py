"""The registry's ActivityPub actors (docs/activitypub.md, "Actors").

The instance is a `Service`, each user a `Person`, each namespace a `Group` and each
package an `Application` that can be followed for its releases. Every actor has an
inbox (and the shared inbox), an outbox and a followers collection; its `publicKey` is
the registry's RSA key (the draft-cavage signatures Mastodon checks) and its
`assertionMethod` the registry's Ed25519 key as a Multikey (the records' proofs). The
registry holds the keys and signs for all of its actors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.names import canonical_name
from fpmreg.server.accounts.models import Namespace, User
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.packages.models import Package

CONTEXT = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    "https://w3id.org/security/multikey/v1",
]
INSTANCE_NAME = "registry"  # the Service's preferredUsername
AP_PREFIX = "/ap"


@dataclass(frozen=True)
class Actor:
    """Who an actor is: its kind, URL path below `/ap`, name and page."""

    type: str
    path: str  # e.g. `/ap/users/alice`
    username: str
    name: str
    summary: str
    page: str  # the HTML page, a path


def find_actor(session: Session, path: str) -> Actor | None:
    """The actor at `path` (`/ap/actor`, `/ap/users/U`, `/ap/namespaces/N`,
    `/ap/packages/N/P`), or None."""
    parts = path.removeprefix(AP_PREFIX).strip("/").split("/")
    if parts == ["actor"]:
        return Actor("Service", f"{AP_PREFIX}/actor", INSTANCE_NAME, "fpmreg",
                     "A package registry for the Fortran Package Manager", "/")  # fmt: skip
    if len(parts) == 2 and parts[0] == "users":
        user = session.scalar(
            select(User).where(
                User.canonical == canonical_name(parts[1]), User.deleted_at.is_(None)
            )
        )
        if user is not None:
            return Actor("Person", f"{AP_PREFIX}/users/{user.username}", user.username,
                         user.username, "", f"/user/{user.username}")  # fmt: skip
    if len(parts) == 2 and parts[0] == "namespaces":
        ns = session.scalar(
            select(Namespace).where(Namespace.canonical == canonical_name(parts[1]))
        )
        if ns is not None:
            return Actor("Group", f"{AP_PREFIX}/namespaces/{ns.name}", ns.name, ns.name,
                         ns.description, f"/namespace/{ns.name}")  # fmt: skip
    if len(parts) == 3 and parts[0] == "packages":
        package = session.scalar(
            select(Package)
            .join(Namespace, Package.namespace_id == Namespace.id)
            .where(
                Namespace.canonical == canonical_name(parts[1]),
                Package.canonical == canonical_name(parts[2]),
                Package.quarantined_at.is_(None),
            )
        )
        if package is not None:
            ns_name = package.namespace.name
            return Actor("Application", f"{AP_PREFIX}/packages/{ns_name}/{package.name}",
                         f"{ns_name}.{package.name}", f"{ns_name}/{package.name}",
                         package.description, f"/project/{ns_name}/{package.name}")  # fmt: skip
    return None


def actor_document(actor: Actor, keys: RegistryKeys) -> dict[str, Any]:
    """The actor as JSON-LD (`application/activity+json`)."""
    base = keys.registry
    actor_id = base + actor.path
    pem = keys.rsa.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return {
        "@context": CONTEXT,
        "id": actor_id,
        "type": actor.type,
        "preferredUsername": actor.username,
        "name": actor.name,
        "summary": actor.summary,
        "url": base + actor.page,
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers",
        "following": f"{actor_id}/following",
        "endpoints": {"sharedInbox": f"{base}{AP_PREFIX}/inbox"},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "publicKey": {
            "id": f"{actor_id}#main-key",
            "owner": actor_id,
            "publicKeyPem": pem.decode(),
        },
        "assertionMethod": [
            {
                "id": f"{actor_id}#ed25519-key",
                "type": "Multikey",
                "controller": actor_id,
                "publicKeyMultibase": keys.multikeys()[0],
            }
        ],
    }


def webfinger_actors(session: Session, resource: str, host: str) -> list[Actor]:
    """The actors `acct:NAME@HOST` names: a user and a namespace may share a name, and
    `registry` is the instance."""
    name, at, domain = resource.removeprefix("acct:").rpartition("@")
    if not resource.startswith("acct:") or not at or domain.lower() != host.lower() or not name:
        return []
    found = [find_actor(session, f"{AP_PREFIX}/users/{name}"),
             find_actor(session, f"{AP_PREFIX}/namespaces/{name}")]  # fmt: skip
    if name == INSTANCE_NAME:
        found.append(find_actor(session, f"{AP_PREFIX}/actor"))
    return [a for a in found if a is not None]


def host_of(base_url: str) -> str:
    """The host (and port) acct: names are at."""
    return urlsplit(base_url).netloc
