"""Audits this registry's users offer to communities on other registries
(docs/communities.md, "Audits from other registries").

The registry writes the audit document as it does for its own communities, binding each
reviewed release to the sha256 of the tarball it serves, and sends it to the community's
inbox as an `Offer` from the user's `Person` actor, signed with the registry's key: the
user trusts their home registry to hold their actor's keys, as for every activity it
sends. The community's `Accept` or `Reject` comes back to the user's inbox and is
recorded on the submission (`SubmissionAnswers`, plugged into the federation domain).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.wire.communities import SubmissionRequest
from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock
from fpmreg.server.communities.audits import audit_document
from fpmreg.server.communities.group import AS
from fpmreg.server.communities.remote_models import AuditSubmission
from fpmreg.server.communities.service import InvalidDocument
from fpmreg.server.errors import NotFound
from fpmreg.server.federation.flags import plain_text
from fpmreg.server.federation.keys import RegistryKeys
from fpmreg.server.federation.offers import post_activity
from fpmreg.server.federation.refusal import InboxError
from fpmreg.server.federation.remote import RemoteError, fetch_json
from fpmreg.server.packages.service import PackagesService

MAX_REASON = 2000


class SubmissionsService:
    """Offer audits to remote communities in the caller's transaction."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        packages: PackagesService,
        keys: RegistryKeys,
        *,
        allow_private: bool,
    ) -> None:
        self.session = session
        self.clock = clock
        self.packages = packages
        self.keys = keys
        self.allow_private = allow_private

    def get(self, user: User, submission_id: int) -> AuditSubmission:
        """One of the user's submissions, or 404."""
        row = self.session.get(AuditSubmission, submission_id)
        if row is None or row.user_id != user.id:
            raise NotFound("submission-not-found", f"you have no submission {submission_id}")
        return row

    def listed(self, user: User) -> list[AuditSubmission]:
        """The user's submissions, newest first (at most 200)."""
        query = select(AuditSubmission).where(AuditSubmission.user_id == user.id)
        return list(self.session.scalars(query.order_by(AuditSubmission.id.desc()).limit(200)))

    def submit(self, user: User, request: SubmissionRequest) -> AuditSubmission:
        """Write the audit, send the `Offer` now, and keep it as pending; a refusal by the
        community's registry is a 422 with its message, and nothing is kept."""
        community = request.community.rstrip("/")
        if community.startswith(self.keys.registry + "/c/"):
            raise InvalidDocument(
                "community-local",
                "this community is on this registry: "
                "submit with POST /api/v1/communities/{c}/audits",
                "community",
            )
        actor = f"{self.keys.registry}/ap/users/{user.username}"
        offer_id = f"{actor}/offers/{secrets.token_hex(12)}"
        body = self._audit(actor, community, offer_id, request)  # a missing release: 404
        inbox = self._inbox(community)
        offer = {
            "@context": AS,
            "id": offer_id,
            "type": "Offer",
            "actor": actor,
            "object": body,
            "target": community,
            "to": [community],
        }
        now = self.clock.now()
        try:
            posted = post_activity(
                self.keys, actor, inbox, offer, now, allow_private=self.allow_private
            )
        except RemoteError as exc:
            raise InvalidDocument("offer-undelivered", str(exc), "community") from None
        if not posted.ok:
            raise InvalidDocument(
                "offer-refused",
                f"the community's registry refused the audit ({posted.status}): {posted.text}",
                "community",
            )
        row = AuditSubmission(
            user_id=user.id,
            community=community,
            offer_id=offer_id,
            body=canonical(body).decode("utf-8"),
            status="pending",
            reason="",
            result="",
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def _inbox(self, community: str) -> str:
        try:
            document = fetch_json(community, allow_private=self.allow_private)
        except RemoteError as exc:
            raise InvalidDocument("community-unreachable", str(exc), "community") from None
        inbox = document.get("inbox") if isinstance(document, dict) else None
        if (
            not isinstance(document, dict)
            or document.get("type") != "Group"
            or not isinstance(inbox, str)
        ):
            raise InvalidDocument(
                "community-not-a-group",
                f"`{community[:200]}` is not a community's Group actor with an inbox",
                "community",
            )
        if document.get("id") != community:
            raise InvalidDocument(
                "community-not-a-group",
                f"`{community[:200]}` names another actor, `{str(document.get('id'))[:200]}`",
                "community",
            )
        return inbox

    def _audit(
        self, actor: str, community: str, offer_id: str, request: SubmissionRequest
    ) -> dict[str, Any]:
        criteria = sorted(
            {c if "://" in c else f"{community}/criteria/{c}" for c in request.criteria}
        )
        return audit_document(
            self.packages, request, audit_id=f"{offer_id}#audit", auditor=actor,
            community=community, criteria=criteria,
        )  # fmt: skip


class SubmissionAnswers:
    """The federation domain's `OfferAnswerSink`: an `Accept` or `Reject` of one of our
    users' Offers, from the community it was sent to, is recorded once."""

    def answer(
        self, session: Session, activity: dict[str, Any], signer: str, now: datetime
    ) -> str | None:
        answered = activity.get("object")
        offer_id = answered.get("id") if isinstance(answered, dict) else answered
        if not isinstance(offer_id, str):
            return None
        row = session.scalar(select(AuditSubmission).where(AuditSubmission.offer_id == offer_id))
        if row is None:
            return None
        if signer != row.community:
            raise InboxError(400, "only the community the audit was offered to may answer it")
        if row.status != "pending":
            return "already answered"
        if activity["type"] == "Accept":
            result = activity.get("result")
            row.status, row.result = "accepted", result[:512] if isinstance(result, str) else ""
        else:
            why = activity.get("content") or activity.get("summary")
            row.status = "rejected"
            row.reason = plain_text(why, MAX_REASON) if isinstance(why, str) else ""
        row.decided_at = now
        session.flush()
        return "offer answered"


def submission_body(row: AuditSubmission) -> dict[str, Any]:
    """The audit document offered."""
    loaded: dict[str, Any] = json.loads(row.body)
    return loaded
