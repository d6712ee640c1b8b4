"""The Sybil attack at the registry (docs/organisations.md, "Trust statements"; the bound
is docs/vetting.md, "The bound on fake accounts"): 1,000 fake accounts join a community,
trust each other, and certify a malicious release, with their audits accepted by fakes
who became reviewers; three honest members at distance 2 trust one fake each. The
community's trust metric (`TrustService`) accepts no more fakes than its bound, and a
policy with `maxTrustDistance: 2` keeps the malicious release failing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from fpmreg.core.vet.audits import parse_audit
from fpmreg.core.vet.evaluate import Evidence, LockEntry, evaluate_lock
from fpmreg.core.vet.policy import parse_policy
from fpmreg.core.wire.communities import (
    AuditDecision,
    AuditRequest,
    CommunityRequest,
    CriterionRequest,
    MemberRequest,
)
from fpmreg.core.wire.organisations import TrustRequest
from fpmreg.server.accounts.models import User
from fpmreg.server.clock import SystemClock
from fpmreg.server.communities.audits import AuditsService
from fpmreg.server.communities.models import Community, CommunityMember
from fpmreg.server.communities.service import CommunitiesService, document_body
from fpmreg.server.communities.trust import TrustService
from fpmreg.server.packages.service import PackagesService
from fpmreg.server.storage import BlobStore
from tests.factories import make_publisher, make_user, publish

BASE = "http://testserver"
FAKES = 1_000
CERTIFYING_FAKES = 40


def _fakes(session: Session, community: Community) -> list[User]:
    """Fake accounts, straight into the tables (no password hashing: this is about
    trust, and 1,000 accounts through the sign-up path would take minutes), made
    members of the community: the worst case, where joining is no obstacle."""
    now = datetime.now(UTC)
    users = [
        User(
            username=f"sock{i}",
            canonical=f"sock{i}",
            email=f"sock{i}@example.org",
            email_canonical=f"sock{i}@example.org",
            password_hash="!",
            created_at=now,
        )
        for i in range(FAKES)
    ]
    session.add_all(users)
    session.flush()
    session.add_all(
        [
            CommunityMember(community_id=community.id, user_id=u.id, role="member", since=now)
            for u in users
        ]
    )
    session.flush()
    return users


def test_a_thousand_fakes_stay_under_the_bound_and_cannot_pass_a_malicious_release(
    session: Session, store: BlobStore
) -> None:
    clock = SystemClock()
    communities = CommunitiesService(session, clock, BASE)
    founder = make_user(session)
    community = communities.create(founder, CommunityRequest(name="fortran", title="Fortran"))
    communities.publish_criterion(
        founder, community, "safe-to-run", CriterionRequest(description="runs")
    )
    criterion = communities.uri(community, "criteria", "safe-to-run")
    honest = [make_user(session) for _ in range(6)]
    for user in honest:
        communities.set_member(
            founder, community, MemberRequest(username=user.username, role="member")
        )
    communities.set_member(
        founder, community, MemberRequest(username=honest[0].username, role="reviewer")
    )
    trust = TrustService(session, clock)
    say = trust.state
    for near in honest[:3]:  # distance 1
        say(founder, community, TrustRequest(trustee=near.username, level="high"))
    for near, far in zip(honest[:3], honest[3:], strict=True):  # distance 2
        say(near, community, TrustRequest(trustee=far.username, level="medium"))

    fakes = _fakes(session, community)
    for i, fake in enumerate(fakes):  # a ring, and chords: everyone vouched for twice
        for step in (1, 7):
            say(
                fake,
                community,
                TrustRequest(trustee=fakes[(i + step) % FAKES].username, level="high"),
            )
    attack = [(far, fakes[k * 300]) for k, far in enumerate(honest[3:])]
    for far, fake in attack:  # three careless honest members
        say(far, community, TrustRequest(trustee=fake.username, level="low"))

    owner = make_publisher(session)
    good = publish(session, store, owner, "lib", "1.0.0")
    evil = publish(session, store, owner, "evil", "1.0.0")
    audits = AuditsService(session, clock, communities, PackagesService(session, clock, store))
    ns = owner.namespace.name
    honest_audit = audits.submit(
        honest[1],
        community,
        AuditRequest(package=f"{ns}/lib", version="1.0.0", criteria=["safe-to-run"]),
    )
    audits.decide(honest[0], community, honest_audit, AuditDecision(accept=True))
    for fake in (fakes[0], fakes[1]):  # two fakes slipped into the reviewers
        member = session.get(CommunityMember, (community.id, fake.id))
        assert member is not None
        member.role = "reviewer"
    for i, fake in enumerate(fakes[:CERTIFYING_FAKES]):
        audit = audits.submit(
            fake,
            community,
            AuditRequest(
                package=f"{ns}/evil",
                version="1.0.0",
                criteria=["safe-to-run"],
                thoroughness="high",
                understanding="high",
            ),
        )
        audits.decide(
            fakes[1] if i == 0 else fakes[0], community, audit, AuditDecision(accept=True)
        )
    session.commit()

    fake_uris = {trust.actor_uri(community, f) for f in fakes}
    result = trust.result(community)
    admitted = result.accepted & fake_uris
    bound = trust.bound(community, fake_uris)
    print(
        f"\nSybil at the registry: {FAKES} fakes, {len(attack)} attack edges from distance 2: "
        f"bound {bound}, {len(admitted)} fakes accepted"
    )
    assert bound == 3 * (result.capacity[trust.actor_uri(community, honest[3])] - 1) == 597
    assert 0 < len(admitted) <= bound
    distances = trust.distances(community)
    assert all(distances[f] >= 3 for f in admitted)  # past the attack edges
    assert trust.actor_uri(community, fakes[0]) in admitted  # an accepted fake certified evil

    accepted = [
        parse_audit(json.loads(a.body)) for a in audits.listed(community, status="accepted")
    ]
    lock = [
        LockEntry(f"pkg:fpm/{ns}/evil@1.0.0", evil.sha256),
        LockEntry(f"pkg:fpm/{ns}/lib@1.0.0", good.sha256),
    ]
    rules = {"requires": {"roots": [criterion]}}
    guarded = communities.publish_policy(
        founder, community, "guarded", {**rules, "maxTrustDistance": 2}
    )
    naive = communities.publish_policy(founder, community, "naive", rules)
    evidence = Evidence(audits=accepted, now=datetime.now(UTC), trust=distances)
    verdict = evaluate_lock(lock, parse_policy(document_body(guarded)), evidence)
    by_purl = {p.purl: p.passed for p in verdict.packages}
    assert by_purl == {lock[0].purl: False, lock[1].purl: True}  # evil FAILED, lib passes
    unguarded = evaluate_lock(lock, parse_policy(document_body(naive)), evidence)
    assert all(p.passed for p in unguarded.packages)  # without the threshold, it would pass
