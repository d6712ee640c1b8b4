"""The error of a refused inbound ActivityPub request (docs/activitypub.md, "Inbox")."""

from __future__ import annotations


class InboxError(Exception):
    """A refused inbound request: its status and what the sender should fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
