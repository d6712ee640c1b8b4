"""Communities: create one, manage its members, and publish versions of its criteria,
auditor guidance and policies (docs/communities.md).

Services flush; the request's unit of work commits. Every published version is audited
as `community.publish`, and the records hook signs its digest into the transparency log
(`federation/records.py`), so anyone can check that the document they were served is the
one the registry logged.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fpmreg.core.integrity import canonical
from fpmreg.core.names import name_problems
from fpmreg.core.problem import Problem, ProblemsError
from fpmreg.core.vet.criteria import parse_criterion
from fpmreg.core.vet.policy import parse_policy
from fpmreg.core.wire.communities import (
    KINDS,
    ROLES,
    SLUG_PATTERN,
    CommunityRequest,
    CriterionRequest,
    GuidanceRequest,
    MemberRequest,
    RulesRequest,
)
from fpmreg.server.accounts.models import User
from fpmreg.server.clock import Clock
from fpmreg.server.communities.models import Community, CommunityDocument, CommunityMember
from fpmreg.server.errors import Conflict, DomainError, Forbidden, NotFound
from fpmreg.server.events import record_event

ACTION = "community.publish"
FOUNDER = "founder"
_SLUG = re.compile(SLUG_PATTERN)


class InvalidDocument(DomainError):
    """A community, member or document the registry does not take (422, naming the field)."""

    status = 422


def _invalid(code: str, field: str, message: str) -> InvalidDocument:
    return InvalidDocument(code, message, field)


def _text(field: str, value: str) -> str:
    """`value` stripped, refused when it holds a NUL (no database stores one in text)."""
    if "\x00" in value:
        raise _invalid("text-invalid", field, f"`{field}` contains a NUL character: remove it")
    return value.strip()


class CommunitiesService:
    """Communities of this registry; `base_url` makes their URIs."""

    def __init__(self, session: Session, clock: Clock, base_url: str) -> None:
        self.session = session
        self.clock = clock
        self.base = base_url.rstrip("/")

    # Reading

    def uri(self, community: Community, kind: str = "", slug: str = "") -> str:
        """The URI of the community, of one kind of its documents, or of one document (all
        versions)."""
        tail = "".join(f"/{part}" for part in (kind, slug) if part)
        return f"{self.base}/c/{community.name}{tail}"

    def get(self, name: str) -> Community:
        """The community `name`, or 404."""
        found = self.session.scalar(select(Community).where(Community.name == name.lower()))
        if found is None:
            raise NotFound("community-not-found", f"there is no community `{name[:63]}` here")
        return found

    def all(self) -> list[Community]:
        """Every community, by name."""
        return list(self.session.scalars(select(Community).order_by(Community.name)))

    def members(self, community: Community) -> list[tuple[User, CommunityMember]]:
        """The members with their roles: founders first, then by name."""
        rows = self.session.execute(
            select(User, CommunityMember)
            .join(CommunityMember, CommunityMember.user_id == User.id)
            .where(CommunityMember.community_id == community.id)
        ).all()
        pairs = [(user, member) for user, member in rows]
        return sorted(pairs, key=lambda p: (ROLES.index(p[1].role), p[0].canonical))

    def role_of(self, community: Community, user: User | None) -> str | None:
        """`user`'s role in the community, or None."""
        if user is None:
            return None
        member = self.session.get(CommunityMember, (community.id, user.id))
        return member.role if member else None

    def latest(self, community: Community, kind: str) -> list[CommunityDocument]:
        """The latest version of each document of `kind`, by slug."""
        newest = (
            select(CommunityDocument.slug, func.max(CommunityDocument.version).label("v"))
            .where(CommunityDocument.community_id == community.id, CommunityDocument.kind == kind)
            .group_by(CommunityDocument.slug)
            .subquery()
        )
        query = (
            select(CommunityDocument)
            .join(
                newest,
                (CommunityDocument.slug == newest.c.slug)
                & (CommunityDocument.version == newest.c.v),
            )
            .where(CommunityDocument.community_id == community.id, CommunityDocument.kind == kind)
            .order_by(CommunityDocument.slug)
        )
        return list(self.session.scalars(query))

    def versions(self, community: Community, kind: str, slug: str) -> list[CommunityDocument]:
        """Every version of one document, oldest first; 404 when there is none."""
        found = list(
            self.session.scalars(
                select(CommunityDocument)
                .where(
                    CommunityDocument.community_id == community.id,
                    CommunityDocument.kind == kind,
                    CommunityDocument.slug == slug,
                )
                .order_by(CommunityDocument.version)
            )
        )
        if not found:
            raise NotFound(
                "document-not-found", f"community `{community.name}` has no {kind} `{slug[:63]}`"
            )
        return found

    # Changing

    def create(self, user: User, request: CommunityRequest) -> Community:
        """A new community with `user` as its founder."""
        name = request.name
        problems = name_problems(name, field="name", what="community")
        if not problems and not _SLUG.fullmatch(name):
            problems = [Problem("community-name-invalid", "name", _slug_help("name", name))]
        if problems:
            raise InvalidDocument.of(problems)
        title, summary = _text("title", request.title), _text("summary", request.summary)
        if not title:
            raise _invalid("community-title-missing", "title", "give the community a `title`")
        if self.session.scalar(select(Community.id).where(Community.name == name)) is not None:
            raise Conflict("community-exists", f"a community `{name}` exists: choose another name")
        now = self.clock.now()
        community = Community(name=name, title=title, summary=summary, created_at=now,
                              reviews_needed=request.reviews_needed)  # fmt: skip
        self.session.add(community)
        self.session.flush()
        self.session.add(
            CommunityMember(community_id=community.id, user_id=user.id, role=FOUNDER, since=now)
        )
        record_event(self.session, at=now, actor_id=user.id, action="community.create",
                     subject=f"community:{name}")  # fmt: skip
        self.session.flush()
        return community

    def require_founder(self, community: Community, user: User) -> None:
        """Refuse anyone who is not a founder of the community (403)."""
        if self.role_of(community, user) != FOUNDER:
            raise Forbidden(
                "not-a-founder",
                f"only the founders of community `{community.name}` may do that",
                "authorization",
            )

    def set_rules(self, actor: User, community: Community, request: RulesRequest) -> None:
        """How many distinct reviewers must accept an audit. Founders only; audited.
        Audits already decided keep their decision."""
        self.require_founder(community, actor)
        community.reviews_needed = request.reviews_needed
        record_event(self.session, at=self.clock.now(), actor_id=actor.id,
                     action="community.rules", subject=f"community:{community.name}",
                     data={"reviews_needed": request.reviews_needed})  # fmt: skip
        self.session.flush()

    def set_member(self, actor: User, community: Community, request: MemberRequest) -> None:
        """Add `request.username` with a role, or change their role. Founders only; the
        last founder cannot step down (someone must be able to manage the community)."""
        self.require_founder(community, actor)
        if request.role not in ROLES:
            raise _invalid("member-role-invalid", "role", "`role` is one of " + _quoted(ROLES))
        wanted = _text("username", request.username).lower()
        user = self.session.scalar(select(User).where(User.canonical == wanted))
        if user is None:
            raise NotFound("user-not-found", f"there is no user `{request.username[:63]}`")
        member = self.session.get(CommunityMember, (community.id, user.id))
        if member is not None and member.role == FOUNDER and request.role != FOUNDER:
            founders = self.session.scalar(
                select(func.count()).where(
                    CommunityMember.community_id == community.id, CommunityMember.role == FOUNDER
                )
            )
            if founders == 1:
                raise Conflict("last-founder", "make another founder before this one steps down")
        now = self.clock.now()
        if member is None:
            member = CommunityMember(community_id=community.id, user_id=user.id, since=now)
            self.session.add(member)
        member.role = request.role
        record_event(self.session, at=now, actor_id=actor.id, action="community.member",
                     subject=f"community:{community.name}",
                     data={"user": user.username, "role": request.role})  # fmt: skip
        self.session.flush()

    def publish_criterion(
        self, actor: User, community: Community, slug: str, request: CriterionRequest
    ) -> CommunityDocument:
        """A new version of criterion `slug` (docs/vetting.md, "Criteria")."""
        self.require_founder(community, actor)
        body = {
            "id": self.uri(community, "criteria", _checked_slug(slug)),
            "description": _text("description", request.description),
            "implies": sorted(set(request.implies)),
        }
        _parsed(parse_criterion, body)
        return self._publish(actor, community, "criteria", slug, body)

    def publish_guidance(
        self, actor: User, community: Community, slug: str, request: GuidanceRequest
    ) -> CommunityDocument:
        """A new version of the guidance document `slug` for auditors (Markdown)."""
        self.require_founder(community, actor)
        title, text = _text("title", request.title), _text("text", request.text)
        if not title or not text:
            raise _invalid("guidance-empty", "text", "guidance needs a `title` and a `text`")
        body = {"id": self.uri(community, "guidance", _checked_slug(slug)),
                "title": title, "text": text}  # fmt: skip
        return self._publish(actor, community, "guidance", slug, body)

    def publish_policy(
        self, actor: User, community: Community, slug: str, raw: dict[str, Any]
    ) -> CommunityDocument:
        """A new version of policy `slug` (docs/vetting.md, "Policies"). Its `id` and
        `community` are set here; every criterion it requires must be one of ours."""
        self.require_founder(community, actor)
        body = {
            **raw,
            "id": self.uri(community, "policies", _checked_slug(slug)),
            "community": self.uri(community),
        }
        for key in ("id", "community"):
            if key in raw and raw[key] != body[key]:
                fixed = f"leave out `{key}`: the registry sets it to `{body[key]}`"
                raise _invalid("policy-field-fixed", key, fixed)
        policy = _parsed(parse_policy, body)
        ours = {d.slug for d in self.latest(community, "criteria")}
        prefix = self.uri(community, "criteria") + "/"
        for field, uris in (("requires.roots", policy.root_criteria),
                            ("requires.dev", policy.dev_criteria)):  # fmt: skip
            for uri in sorted(uris):
                if not uri.startswith(prefix) or uri.removeprefix(prefix) not in ours:
                    raise _invalid("policy-criterion-unknown", field,
                                   f"`{uri[:200]}` is not a criterion of community "
                                   f"`{community.name}`: publish it first")  # fmt: skip
        return self._publish(actor, community, "policies", slug, body)

    def _publish(
        self, actor: User, community: Community, kind: str, slug: str, body: dict[str, Any]
    ) -> CommunityDocument:
        assert kind in KINDS
        try:
            data = canonical(body)
        except (ValueError, TypeError, OverflowError) as exc:  # NaN, 2**53 and beyond: no JCS
            why = f"the document cannot be written as canonical JSON: {exc}"
            raise _invalid("document-not-canonical", "body", why) from None
        digest = hashlib.sha256(data).hexdigest()
        existing = self.session.scalars(
            select(CommunityDocument)
            .where(CommunityDocument.community_id == community.id,
                   CommunityDocument.kind == kind, CommunityDocument.slug == slug)
            .order_by(CommunityDocument.version.desc())
            .limit(1)
        ).first()  # fmt: skip
        if existing is not None and existing.sha256 == digest:
            return existing  # the same document again: no new version
        now = self.clock.now()
        document = CommunityDocument(
            community_id=community.id, kind=kind, slug=slug,
            version=(existing.version + 1) if existing else 1, body=data.decode("utf-8"),
            sha256=digest, published_at=now, published_by=actor.id,
        )  # fmt: skip
        self.session.add(document)
        record_event(self.session, at=now, actor_id=actor.id, action=ACTION,
                     subject=f"community:{community.name}/{kind}/{slug}@{document.version}",
                     data={"document": self.version_url(community, document), "sha256": digest,
                           "community": self.uri(community), "kind": kind})  # fmt: skip
        self.session.flush()
        return document

    def version_url(self, community: Community, document: CommunityDocument) -> str:
        """Where one version of a document is served (and what the log entry names)."""
        return f"{self.uri(community, document.kind, document.slug)}/versions/{document.version}"


def document_body(document: CommunityDocument) -> dict[str, Any]:
    """The published document as JSON."""
    body: dict[str, Any] = json.loads(document.body)
    return body


def stamp(document: CommunityDocument) -> str:
    """Its publication time as the API writes times."""
    return document.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _checked_slug(slug: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise _invalid("document-slug-invalid", "slug", _slug_help("slug", slug))
    return slug


def _slug_help(field: str, value: str) -> str:
    return (
        f"`{value[:63]}` is not a valid {field}: lower-case letters, digits and `-`, "
        "starting with a letter, at most 63 characters"
    )


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _parsed(parse: Any, body: dict[str, Any]) -> Any:
    try:
        return parse(body)
    except ProblemsError as exc:
        raise InvalidDocument.of(exc.problems) from None
