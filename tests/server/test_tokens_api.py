"""Tokens over the API: whoami, list, create and revoke, and the `manage` scope."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fpmreg.server.accounts.models import Role, Scope
from fpmreg.server.accounts.service import AccountsService
from fpmreg.server.clock import SystemClock
from tests.factories import PASSWORD, Publisher, make_publisher, make_user
from tests.support.forms import csrf_field


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_whoami_tells_the_user_scopes_namespace_and_expiry(
    client: TestClient, session: Session
) -> None:
    pub = make_publisher(session, scopes={Scope.PUBLISH, Scope.YANK}, package="hello")
    session.commit()

    answer = client.get("/api/v1/whoami", headers=bearer(pub.token))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["username"] == pub.user.username
    assert body["via"] == "token"
    assert body["token"]["scopes"] == ["publish", "yank"]
    assert body["token"]["namespace"] == pub.namespace.name
    assert body["token"]["package"] == "hello"
    assert body["token"]["expires_at"]
    assert pub.token not in answer.text


def test_whoami_says_why_a_token_is_refused(client: TestClient, session: Session) -> None:
    pub = make_publisher(session)
    session.commit()
    malformed = client.get("/api/v1/whoami", headers=bearer("fpmreg_short"))
    unknown = client.get("/api/v1/whoami", headers=bearer("fpmreg_" + "A" * 43))
    token_id = client.get("/api/v1/tokens", headers=bearer(pub.token))
    assert token_id.status_code == 403  # a publish token cannot list tokens
    AccountsService(session, SystemClock()).revoke_token(pub.user, pub_token_id(session, pub))
    session.commit()
    revoked = client.get("/api/v1/whoami", headers=bearer(pub.token))

    assert malformed.status_code == 401
    assert "malformed" in malformed.json()["errors"][0]["detail"]
    assert unknown.status_code == 401
    assert unknown.json()["errors"][0]["code"] == "token-invalid"
    assert revoked.status_code == 401
    error = revoked.json()["errors"][0]
    assert error["code"] == "token-revoked"
    assert "was revoked on " in error["detail"] and "/account" in error["detail"]


def pub_token_id(session: Session, pub: Publisher) -> int:
    return AccountsService(session, SystemClock()).tokens_of(pub.user)[0].id


def sign_in(client: TestClient, username: str) -> None:
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_field(client, "/login"),
            "username": username,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_a_session_manages_tokens_with_the_csrf_header(
    client: TestClient, session: Session
) -> None:
    pub = make_publisher(session)
    session.commit()
    sign_in(client, pub.user.username)
    body = {"name": "ci", "scopes": ["publish"], "namespace": pub.namespace.name, "days": 7}

    who = client.get("/api/v1/whoami")
    without = client.post("/api/v1/tokens", json=body)
    csrf = csrf_field(client, "/account")
    created = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": csrf})

    assert who.json() == {"username": pub.user.username, "via": "session", "token": None}
    assert without.status_code == 403
    assert without.json()["errors"][0]["code"] == "csrf-failed"
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert client.get("/api/v1/whoami", headers=bearer(secret)).json()["token"]["name"] == "ci"
    listed = client.get("/api/v1/tokens").json()["tokens"]
    assert [t["name"] for t in listed] == ["ci", "t"]
    assert secret not in client.get("/api/v1/tokens").text


def test_a_manage_token_creates_lists_and_revokes(client: TestClient, session: Session) -> None:
    pub = make_publisher(session, scopes={Scope.MANAGE, Scope.PUBLISH})
    session.commit()
    body = {"name": "ci", "scopes": ["publish"], "namespace": pub.namespace.name, "days": 7}

    created = client.post("/api/v1/tokens", json=body, headers=bearer(pub.token))
    assert created.status_code == 201, created.text
    new = created.json()
    listed = client.get("/api/v1/tokens", headers=bearer(pub.token)).json()["tokens"]
    revoked = client.delete(f"/api/v1/tokens/{new['token']['id']}", headers=bearer(pub.token))
    after = client.get("/api/v1/whoami", headers=bearer(new["secret"]))

    assert {t["name"] for t in listed} == {"ci", "t"}
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert after.status_code == 401
    assert after.json()["errors"][0]["code"] == "token-revoked"


def test_a_token_never_creates_a_more_powerful_one(client: TestClient, session: Session) -> None:
    pub = make_publisher(session, scopes={Scope.MANAGE}, package="hello", days=10)
    other = make_publisher(session)
    AccountsService(session, SystemClock()).add_member(
        other.user, other.namespace, pub.user.username, Role.ADMIN
    )
    session.commit()
    ns = pub.namespace.name

    def create(**fields: object) -> dict[str, object]:
        body = {"name": "x", "scopes": ["manage"], "namespace": ns, "package": "hello", "days": 5}
        answer = client.post("/api/v1/tokens", json={**body, **fields}, headers=bearer(pub.token))
        assert answer.status_code == 403, answer.text
        return dict(answer.json()["errors"][0])

    assert "`publish`" in str(create(scopes=["manage", "publish"])["detail"])
    assert "limited to" in str(create(package="other")["detail"])
    assert "at most" in str(create(days=30)["detail"])
    assert create(namespace=other.namespace.name)["code"] == "token-namespace"
    kept = client.post(
        "/api/v1/tokens",
        json={"name": "y", "scopes": ["manage"], "namespace": ns, "days": 5},
        headers=bearer(pub.token),
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["token"]["package"] == "hello"  # the restriction is kept


def test_another_users_token_id_is_not_found(client: TestClient, session: Session) -> None:
    mine = make_publisher(session, scopes={Scope.MANAGE})
    theirs = make_publisher(session)
    session.commit()
    their_id = AccountsService(session, SystemClock()).tokens_of(theirs.user)[0].id

    answer = client.delete(f"/api/v1/tokens/{their_id}", headers=bearer(mine.token))

    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "token-not-found"
    assert client.get("/api/v1/whoami", headers=bearer(theirs.token)).status_code == 200


def test_manage_adds_and_removes_members_publish_does_not(
    client: TestClient, session: Session
) -> None:
    admin = make_publisher(session, scopes={Scope.MANAGE})
    publisher = make_publisher(session)
    newcomer = make_user(session)
    session.commit()
    url = f"/api/v1/namespaces/{admin.namespace.name}/members/{newcomer.username}"

    refused = client.put(url, json={"role": "maintainer"}, headers=bearer(publisher.token))
    added = client.put(url, json={"role": "maintainer"}, headers=bearer(admin.token))
    removed = client.delete(url, headers=bearer(admin.token))
    alone = client.delete(
        f"/api/v1/namespaces/{admin.namespace.name}/members/{admin.user.username}",
        headers=bearer(admin.token),
    )

    assert refused.status_code == 403
    assert added.status_code == 200, added.text
    assert added.json() == {"username": newcomer.username, "role": "maintainer"}
    assert removed.status_code == 200
    assert alone.status_code == 409
    assert "last admin" in alone.json()["errors"][0]["detail"]
