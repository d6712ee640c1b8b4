"""How strong a new password is: length, zxcvbn's estimate, and the obvious refusals.

One pure check, used by sign-up, the password change and the password reset. Every
problem is a `Problem` on the `password` field whose message says what to do.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from fpmreg.core.names import canonical_name
from fpmreg.core.problem import Problem

# NIST SP 800-63B asks for at least 8; 10 keeps out the most common short ones.
MIN_PASSWORD_LENGTH = 10
# argon2 cost grows with length; nobody types more than this.
MAX_PASSWORD_LENGTH = 1024
# zxcvbn's score, 0 to 4: 3 is "safely unguessable" (about 10^10 guesses), the score
# Dropbox and most adopters ask for.
MIN_PASSWORD_SCORE = 3
# zxcvbn's matching grows quickly with length; a password this long is judged by its
# start (the rest only adds strength).
ESTIMATED_PREFIX_CHARS = 100


def password_problems(
    password: str, *, username: str = "", email: str = "", field: str = "password"
) -> list[Problem]:
    """Every reason `password` is refused for this user, or none."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return [
            Problem(
                "password-too-short"
                if len(password) < MIN_PASSWORD_LENGTH
                else "password-too-long",
                field,
                f"the password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            )
        ]
    if not password.strip():
        return [Problem("password-blank", field, "the password cannot be only spaces")]
    name = canonical_name(username.strip())
    if len(name) >= 3 and name in canonical_name(password):
        return [
            Problem(
                "password-contains-username",
                field,
                "the password contains your username: choose one that does not",
            )
        ]
    inputs = [v for v in (username, email, email.partition("@")[0]) if v]
    result = zxcvbn(password[:ESTIMATED_PREFIX_CHARS], user_inputs=inputs)
    if int(result["score"]) >= MIN_PASSWORD_SCORE:
        return []
    feedback = result.get("feedback", {})
    advice = [str(feedback.get("warning") or "")] + [
        str(s) for s in feedback.get("suggestions", [])
    ]
    hint = " ".join(a.rstrip(".") + "." for a in advice if a)
    return [
        Problem(
            "password-weak",
            field,
            "the password is too easy to guess"
            + (f": {hint}" if hint else ": add a few uncommon words"),
        )
    ]
