"""The permission matrix of docs/moderation.md, cell by cell, through the real API.

Every role tries every moderation action on a package it may or may not own. The
expected grid is written out here, independently of `permissions.MATRIX` (which is
checked against it too), so a change of policy is a deliberate edit of both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Role, Scope, SiteRole
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from fpmreg.server.moderation.permissions import MATRIX, Action, Principal, allowed
from fpmreg.server.moderation.roles import grant_role
from fpmreg.server.packages.models import Package, Version
from fpmreg.server.storage import BlobStore
from tests.factories import Publisher, make_publisher, make_user, publish

ALL_SCOPES = {Scope.PUBLISH, Scope.YANK, Scope.MANAGE}
ROLES = [p.value for p in Principal]

# The policy, one row per action: the roles that may, everyone else is refused.
Y, N = True, False
#                          anon user  maint  ns-adm trusted mod  admin
GRID: dict[Action, tuple[bool, bool, bool, bool, bool, bool, bool]] = {
    Action.REPORT: (N, Y, Y, Y, Y, Y, Y),
    Action.VIEW_QUEUE: (N, N, N, N, N, Y, Y),
    Action.CLAIM: (N, N, N, N, N, Y, Y),
    Action.DECIDE: (N, N, N, N, N, Y, Y),
    Action.YANK: (N, N, Y, Y, N, Y, Y),
    Action.DEPRECATE: (N, N, Y, Y, N, Y, Y),
    Action.QUARANTINE: (N, N, N, N, N, Y, Y),
    Action.DELETE_OWN_RECENT: (N, N, Y, Y, N, Y, Y),
    Action.DELETE_ANY: (N, N, N, N, N, Y, Y),
    Action.VIEW_PACKAGE_EVENTS: (N, N, Y, Y, N, Y, Y),
    Action.VIEW_ALL_EVENTS: (N, N, N, N, N, Y, Y),
    Action.GRANT_ROLES: (N, N, N, N, N, N, Y),
}
# What each role holds (a namespace admin is a maintainer too, as in `principals_for`).
HOLDS = {
    "anonymous": {Principal.ANONYMOUS},
    "user": {Principal.USER},
    "maintainer": {Principal.USER, Principal.MAINTAINER},
    "namespace-admin": {Principal.USER, Principal.MAINTAINER, Principal.NAMESPACE_ADMIN},
    "trusted-reporter": {Principal.USER, Principal.TRUSTED_REPORTER},
    "moderator": {Principal.USER, Principal.MODERATOR},
    "site-admin": {Principal.USER, Principal.SITE_ADMIN},
}


@dataclass
class World:
    """A package `lib` with an old, depended-on 1.0.0 and a fresh 1.1.0, and a report."""

    owner: Publisher
    report_id: int

    @property
    def base(self) -> str:
        return f"/api/v1/packages/{self.owner.namespace.name}/lib"


def _world(client: TestClient, session: Session, store: BlobStore) -> World:
    owner = make_publisher(session, scopes=ALL_SCOPES)
    ns = owner.namespace.name
    publish(session, store, owner, "lib", "1.0.0")
    publish(session, store, owner, "lib", "1.1.0")
    dep = f'[dependencies]\nlib = {{ namespace = "{ns}", v = "1.0.0" }}\n'
    publish(session, store, owner, "app", "1.0.0", extra_manifest=dep)
    # 1.0.0 is ten days old and `app` needs it: owners may no longer delete it.
    package_id = (
        session.query(Package.id)
        .filter(Package.namespace_id == owner.namespace.id, Package.name == "lib")
        .scalar()
    )
    session.execute(
        update(Version)
        .where(Version.package_id == package_id, Version.version == "1.0.0")
        .values(published_at=SystemClock().now() - timedelta(days=10))
    )
    session.commit()
    filed = client.post(
        f"/api/v1/packages/{ns}/lib/reports",
        json={"category": "spam", "message": "a wall of links in the README"},
        headers=_bearer(make_publisher(session).token),
    )
    assert filed.status_code == 201, filed.text
    return World(owner, int(filed.json()["id"]))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _actor(session: Session, world: World, role: str) -> dict[str, str]:
    """The `Authorization` header of someone holding `role` (none when anonymous)."""
    if role == "anonymous":
        return {}
    if role == "namespace-admin":
        return _bearer(world.owner.token)
    if role == "maintainer":
        user = make_user(session)
        accounts = AccountsService(session, SystemClock())
        accounts.add_member(world.owner.user, world.owner.namespace, user.username, Role.MAINTAINER)
        token, _ = accounts.create_token(
            user, name="t", scopes=ALL_SCOPES, namespace=world.owner.namespace.name
        )
        session.commit()
        return _bearer(token)
    someone = make_publisher(session, scopes=ALL_SCOPES)
    site_role = {"trusted-reporter": SiteRole.TRUSTED_REPORTER, "moderator": SiteRole.MODERATOR}
    if role in site_role:
        grant_role(session, someone.user, site_role[role], at=SystemClock().now(), actor_id=None)
    if role == "site-admin":
        someone.user.is_admin = True
    session.commit()
    return _bearer(someone.token)


def _attempt(
    client: TestClient, world: World, action: Action, auth: dict[str, str]
) -> httpx.Response:
    """Do `action` through the API as the holder of `auth`."""
    base, queue = world.base, f"/api/v1/moderation/reports/{world.report_id}"
    why = {"reason": "checking the matrix", "category": "other"}
    calls: dict[Action, Callable[[], httpx.Response]] = {
        Action.REPORT: lambda: client.post(
            f"{base}/reports", json={"category": "broken", "message": "fails"}, headers=auth
        ),
        Action.VIEW_QUEUE: lambda: client.get("/api/v1/moderation/reports", headers=auth),
        Action.CLAIM: lambda: client.post(f"{queue}/claim", json={}, headers=auth),
        Action.DECIDE: lambda: client.post(
            f"{queue}/decision", json={"decision": "dismiss", "reason": "fine"}, headers=auth
        ),
        Action.YANK: lambda: client.put(
            f"{base}/versions/1.1.0/yank", json={"reason": "miscompiles"}, headers=auth
        ),
        Action.DEPRECATE: lambda: client.put(
            f"{base}/deprecation", json={"message": "use something else"}, headers=auth
        ),
        Action.QUARANTINE: lambda: client.put(f"{base}/quarantine", json=why, headers=auth),
        Action.DELETE_OWN_RECENT: lambda: client.request(
            "DELETE", f"{base}/versions/1.1.0", json=why, headers=auth
        ),
        Action.DELETE_ANY: lambda: client.request(
            "DELETE", f"{base}/versions/1.0.0", json=why, headers=auth
        ),
        Action.VIEW_PACKAGE_EVENTS: lambda: client.get(f"{base}/events", headers=auth),
        Action.VIEW_ALL_EVENTS: lambda: client.get("/api/v1/moderation/events", headers=auth),
    }
    return calls[action]()


def test_the_written_grid_is_the_enforced_matrix() -> None:
    for action, row in GRID.items():
        for role, expected in zip(ROLES, row, strict=True):
            assert allowed(HOLDS[role], action) is expected, (role, action)
    assert set(GRID) == set(MATRIX)


# Granting roles is an operator's command (`fpmreg-server admin grant`), not an API.
HTTP_ACTIONS = [a for a in GRID if a is not Action.GRANT_ROLES]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", HTTP_ACTIONS, ids=lambda a: a.value)
def test_every_role_against_every_action(
    client: TestClient, session: Session, store: BlobStore, role: str, action: Action
) -> None:
    world = _world(client, session, store)
    answer = _attempt(client, world, action, _actor(session, world, role))
    expected = GRID[action][ROLES.index(role)]
    if expected:
        assert answer.status_code in (200, 201, 204), answer.text
        return
    code = answer.json()["errors"][0]["code"]
    if role == "anonymous":
        assert answer.status_code == 401, answer.text
        assert code in {"token-missing", "sign-in-required"}, answer.text
    else:
        assert answer.status_code == 403, answer.text
        # Refused by the matrix, by the token's namespace, or by the owners' delete rule.
        assert code in {"not-permitted", "token-namespace", "owner-delete-refused"}, answer.text
