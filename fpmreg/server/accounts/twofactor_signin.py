"""The pending sign-in between the password and the second factor: a signed cookie.

After the password of a user with two-factor sign-in is right, no session exists yet:
the browser gets a cookie `<user id>.<expiry>.<HMAC>` that is good for
`PENDING_SECONDS` and only lets `/login/2fa` ask for a code. It cannot be forged
without `FPMREG_SECRET_KEY` (its HMAC key is derived from it for this use alone), and
a changed user id or expiry breaks the HMAC. In production it is `__Host-` prefixed,
like the CSRF cookie (`fpmreg/server/csrf.py`): Secure, Path=/, no Domain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from fastapi.responses import RedirectResponse, Response

from fpmreg.server.accounts.models import User
from fpmreg.server.accounts.twofactor import has_second_factor
from fpmreg.server.http import AppState
from fpmreg.server.settings import Environment, Settings

# Long enough to find the phone and type a code; short enough that a cookie left on a
# shared computer is useless soon after.
PENDING_SECONDS = 300
PENDING_COOKIE = "fpmreg_2fa_pending"
PRODUCTION_PENDING_COOKIE = "__Host-fpmreg_2fa_pending"
SECOND_FACTOR_URL = "/login/2fa"


@dataclass(frozen=True, slots=True)
class Pending:
    """A verified pending sign-in: whose, and until when."""

    user_id: int
    expires_at: int  # Unix seconds


class PendingRefused(Exception):
    """The pending cookie is missing, expired or not ours; `message` says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def pending_cookie_name(settings: Settings) -> str:
    """The cookie's name: `__Host-` prefixed in production."""
    production = settings.env is Environment.PRODUCTION
    return PRODUCTION_PENDING_COOKIE if production else PENDING_COOKIE


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), b"fpmreg 2fa pending v1", hashlib.sha256).digest()


def _mac(settings: Settings, user_id: int, expires_at: int) -> str:
    digest = hmac.new(_key(settings), f"{user_id}.{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_pending(settings: Settings, user_id: int, now: datetime) -> str:
    """The cookie value for `user_id`, good for `PENDING_SECONDS` from `now`."""
    expires_at = int((now + timedelta(seconds=PENDING_SECONDS)).timestamp())
    return f"{user_id}.{expires_at}.{_mac(settings, user_id, expires_at)}"


def read_pending(settings: Settings, value: str, now: datetime) -> Pending:
    """The pending sign-in in a cookie value, or `PendingRefused`."""
    if not value:
        raise PendingRefused("2fa-pending-missing", "sign in with your username and password first")
    user_id, _, rest = value.partition(".")
    expires, _, mac = rest.partition(".")
    if not (user_id.isdigit() and expires.isdigit() and mac) or not hmac.compare_digest(
        _mac(settings, int(user_id), int(expires)), mac
    ):
        raise PendingRefused(
            "2fa-pending-invalid",
            "this sign-in could not be continued (its cookie was changed or is from "
            "another registry): sign in with your username and password again",
        )
    if int(expires) <= int(now.timestamp()):
        raise PendingRefused(
            "2fa-pending-expired",
            f"the sign-in waited more than {PENDING_SECONDS // 60} minutes for the code: "
            "sign in with your username and password again",
        )
    return Pending(int(user_id), int(expires))


def needs_second_factor(user: User) -> bool:
    """Whether a password sign-in of `user` must be completed with a code first."""
    return has_second_factor(user)


def safe_next(next_url: str) -> str:
    """A same-site path to go to after signing in (anything else: the account page)."""
    ok = next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url
    return next_url if ok else "/account"


def begin_second_factor(state: AppState, user: User, next_url: str) -> Response:
    """The answer to a right password of a user with two-factor sign-in: no session yet,
    a pending cookie and a redirect to the page asking for the code."""
    settings = state.settings
    response = RedirectResponse(
        f"{SECOND_FACTOR_URL}?next={quote(safe_next(next_url))}", status_code=303
    )
    response.set_cookie(
        pending_cookie_name(settings),
        sign_pending(settings, user.id, state.clock.now()),
        max_age=PENDING_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.env is Environment.PRODUCTION or settings.base_url.startswith("https"),
    )
    return response


def end_pending(response: Response, settings: Settings) -> None:
    """Forget the pending sign-in (done, or to start again)."""
    response.delete_cookie(pending_cookie_name(settings), path="/")
