"""`/api/v1/whoami`, `/api/v1/tokens` and namespace members over the API.

A caller is a bearer token or a signed-in browser (the session cookie). A browser's
unsafe requests must carry its CSRF token in `X-CSRF-Token` (the JSON API is exempt
from the form middleware, `fpmreg.server.csrf`, because it reads no form field; a
cross-site page cannot set that header). Scopes: docs/accounts-tokens.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path

from fpmreg.core.wire import MAX_ROW_ID
from fpmreg.core.wire.accounts import (
    Member,
    MemberSet,
    TokenCreate,
    TokenCreated,
    TokenInfo,
    TokenList,
    Whoami,
)
from fpmreg.server.accounts.deps import AccountsDep, CallerDep
from fpmreg.server.accounts.leaving import Leaving
from fpmreg.server.accounts.models import ApiToken, Role
from fpmreg.server.accounts.tokens import TokenManager
from fpmreg.server.openapi import api_errors

router = APIRouter(prefix="/api/v1", tags=["accounts"])

NamespacePath = Annotated[str, Path(max_length=200)]
UsernamePath = Annotated[str, Path(max_length=200)]


def token_info(token: ApiToken) -> TokenInfo:
    """The wire form of a token: everything but the secret."""
    return TokenInfo(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scopes=sorted(token.scope_set),
        namespace=token.namespace.name,
        package=token.package_name,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@router.get(
    "/whoami",
    summary="Who the credential is and what it may do",
    response_model=Whoami,
    responses=api_errors(401),
)
def whoami(caller: CallerDep) -> Whoami:
    """The user, and for a token its scopes, namespace, package and expiry."""
    return Whoami(
        username=caller.user.username,
        via="session" if caller.token is None else "token",
        token=None if caller.token is None else token_info(caller.token),
    )


@router.get(
    "/tokens",
    summary="Your API tokens",
    response_model=TokenList,
    responses=api_errors(401, 403),
)
def list_tokens(caller: CallerDep, accounts: AccountsDep) -> TokenList:
    """Newest first, revoked ones included; a `manage` token sees its namespace's."""
    tokens = TokenManager(accounts).list_tokens(caller)
    return TokenList(tokens=[token_info(t) for t in tokens])


@router.post(
    "/tokens",
    summary="Create an API token",
    status_code=201,
    response_model=TokenCreated,
    responses=api_errors(400, 401, 403, 404, 409, 422),
)
def create_token(
    body: Annotated[TokenCreate, Body()], caller: CallerDep, accounts: AccountsDep
) -> TokenCreated:
    """The secret is in this answer only. A token creates none with more power."""
    secret, token = TokenManager(accounts).create_token(
        caller,
        name=body.name.strip(),
        scopes=body.scopes,
        namespace=body.namespace,
        package=body.package.strip(),
        days=body.days,
    )
    return TokenCreated(token=token_info(token), secret=secret)


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke an API token",
    response_model=TokenInfo,
    responses=api_errors(401, 403, 404, 422),
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], caller: CallerDep, accounts: AccountsDep
) -> TokenInfo:
    """It stops working at once; revoking twice is not an error."""
    return token_info(TokenManager(accounts).revoke_token(caller, token_id))


@router.put(
    "/namespaces/{namespace}/members/{username}",
    summary="Add a member or change their role",
    response_model=Member,
    responses=api_errors(401, 403, 404, 409, 422),
)
def set_member(
    namespace: NamespacePath,
    username: UsernamePath,
    body: Annotated[MemberSet, Body()],
    caller: CallerDep,
    accounts: AccountsDep,
) -> Member:
    """Namespace admins only (with a session, or a `manage` token for the namespace)."""
    ns = accounts.get_namespace(namespace)
    caller.require_manage(ns)
    row = accounts.add_member(caller.user, ns, username, Role(body.role))
    return Member(username=row.user.username, role=row.role)


@router.delete(
    "/namespaces/{namespace}/members/{username}",
    summary="Remove a member, or leave",
    response_model=Member,
    responses=api_errors(401, 403, 404, 409, 422),
)
def remove_member(
    namespace: NamespacePath, username: UsernamePath, caller: CallerDep, accounts: AccountsDep
) -> Member:
    """Admins remove members; anyone may remove themselves (leave), except the last
    admin. Answers the member as they were."""
    ns = accounts.get_namespace(namespace)
    caller.require_manage(ns)
    user = accounts.user_by_name(username)
    role = accounts.role_of(user, ns) if user else None
    if user is not None and user.id == caller.user.id:
        Leaving(accounts).leave_namespace(caller.user, ns)
    else:
        accounts.remove_member(caller.user, ns, username)
    assert user is not None and role is not None  # both calls raise NotFound otherwise
    return Member(username=user.username, role=str(role))
