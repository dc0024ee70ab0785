"""Every legal and illegal member transition through the real services; illegal ones change nothing."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from handoffs.services import handoff_accept, handoff_create
from onboarding.models import MEMBER_TRANSITIONS, Membership, MembershipEvent, MemberState, OnboardingTask
from onboarding.services import (
    engagement_record,
    lead_convert,
    membership_churn,
    membership_mark_renewal_eligible,
    membership_renew,
    membership_sign,
    onboarding_start,
    onboarding_task_complete,
)
from sla_portal.errors import DomainError, InvalidInput, InvalidTransition
from tests.factories import make_mql

pytestmark = pytest.mark.django_db


def signed_member(users, *, term_days=365) -> Membership:
    today = timezone.localdate()
    return membership_sign(
        by=users["rep"],
        organisation="Harbour Foods Ltd",
        contact_name="Ana Silva",
        email="ana@harbour.example",
        membership_type="corporate",
        contract_value="1800",
        term_start=today - timedelta(days=365 - term_days),
        term_end=today + timedelta(days=term_days),
        owner=users["success"],
    )


def member_in_state(state: str, users) -> Membership:
    # a term ending in 30 days (inside the 60-day renewal window) so renewal eligibility can be reached
    m = signed_member(users, term_days=30)
    if state == MemberState.SIGNED:
        return m
    if state == MemberState.CHURNED:
        return membership_churn(membership=m, by=users["success"], reason="price")
    onboarding_start(membership=m, by=users["success"])
    if state == MemberState.ONBOARDING:
        return Membership.objects.get(pk=m.pk)
    onboarding_task_complete(membership=m, step="welcome", by=users["success"])
    engagement_record(membership=m, kind="portal_login", points=30)  # eligible for renewal (≥ 30), not engaged (< 40)
    if state == MemberState.ONBOARDED:
        return Membership.objects.get(pk=m.pk)
    engagement_record(membership=m, kind="event")
    if state == MemberState.ENGAGED:
        return Membership.objects.get(pk=m.pk)
    membership_mark_renewal_eligible(membership=m)
    if state == MemberState.RENEWAL_ELIGIBLE:
        return Membership.objects.get(pk=m.pk)
    assert state == MemberState.RENEWED
    return membership_renew(membership=m, by=users["success"], new_term_end=date.today() + timedelta(days=400))


def perform(target: str, m: Membership, users):
    if target == MemberState.ONBOARDING:
        return onboarding_start(membership=m, by=users["success"])
    if target == MemberState.ONBOARDED:
        return onboarding_task_complete(membership=m, step="welcome", by=users["success"])
    if target == MemberState.ENGAGED:
        return engagement_record(membership=m, kind="committee", points=100)
    if target == MemberState.RENEWAL_ELIGIBLE:  # checked as of 10 days before the term ends
        at = timezone.make_aware(
            timezone.datetime.combine(m.term_end - timedelta(days=10), timezone.datetime.min.time())
        )
        return membership_mark_renewal_eligible(membership=m, at=at)
    if target == MemberState.RENEWED:
        return membership_renew(membership=m, by=users["success"], new_term_end=m.term_end + timedelta(days=365))
    if target == MemberState.CHURNED:
        return membership_churn(membership=m, by=users["success"], reason="no_value")
    raise AssertionError(target)


# engagement_record on a non-onboarded member records points without a transition, and on a churned member it
# is refused; the welcome step on a signed member first starts onboarding (two steps in one action).
PAIRS = [(s, t) for s in MemberState.values for t in MemberState.values if t != MemberState.SIGNED]
LEGAL = {(s, t) for s, targets in MEMBER_TRANSITIONS.items() for t in targets} | {
    (MemberState.SIGNED, MemberState.ONBOARDED),
}
NOT_A_TRANSITION = {  # allowed actions that leave the state as it is
    (s, MemberState.ENGAGED)
    for s in (
        MemberState.SIGNED,
        MemberState.ONBOARDING,
        MemberState.ENGAGED,
        MemberState.RENEWAL_ELIGIBLE,
        MemberState.RENEWED,
    )
}


def snapshot(m):
    m = Membership.objects.get(pk=m.pk)
    return m.state, m.term_end, MembershipEvent.objects.filter(membership=m).count(), m.churn_reason


@pytest.mark.parametrize(("source", "target"), sorted(PAIRS))
def test_member_transition_matrix(agreement, users, source, target):
    # given
    m = member_in_state(source, users)
    assert m.state == source
    before = snapshot(m)
    if (source, target) in NOT_A_TRANSITION:
        # when: engagement is recorded, the state stays
        perform(target, m, users)
        assert Membership.objects.get(pk=m.pk).state == source
    elif (source, target) in LEGAL:
        # when
        perform(target, m, users)
        # then
        m.refresh_from_db()
        assert m.state == target
        last = MembershipEvent.objects.filter(membership=m).exclude(to_state="").order_by("-pk").first()
        assert last.to_state == target
    else:
        # when / then: refused and unchanged
        with pytest.raises((InvalidTransition, DomainError)):
            perform(target, m, users)
        assert snapshot(m) == before


def test_conversion_hands_full_context_to_member_success(agreement, users):
    # given
    lead = make_mql(owner=users["marketer"])
    handoff_accept(handoff=handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"]), by=users["rep"])
    # when
    m = lead_convert(
        lead=lead,
        by=users["rep"],
        membership_type="patron",
        contract_value="5000",
        term_start=date(2026, 12, 1),
        term_end=date(2027, 12, 1),
        notes="Wants a board seat",
        owner=users["success"],
    )
    # then
    assert m.handoff.kind == "to_member_success"
    assert m.handoff.context["membership_type"] == "patron"
    assert m.handoff.context["contacts"][0]["email"] == lead.email
    assert m.handoff.context["notes"] == "Wants a board seat"
    assert sorted(OnboardingTask.objects.filter(membership=m).values_list("step", flat=True)) == sorted(
        ["welcome", "kickoff_call", "portal_access", "first_event_invite"]
    )
    assert m.agreement == lead.agreement


@pytest.mark.parametrize(
    ("contract", "field"),
    [
        ({"membership_type": "gold"}, "membership_type"),
        ({"contract_value": "-1"}, "contract_value"),
        ({"contract_value": "lots"}, "contract_value"),
        ({"contract_value": "NaN"}, "contract_value"),
        ({"term_end": date(2025, 1, 1)}, "term_end"),
    ],
)
def test_conversion_with_bad_contract_data_changes_nothing(agreement, users, contract, field):
    lead = make_mql(owner=users["marketer"])
    handoff_accept(handoff=handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"]), by=users["rep"])
    values = {
        "membership_type": "corporate",
        "contract_value": "1000",
        "term_start": date(2026, 1, 1),
        "term_end": date(2027, 1, 1),
        **contract,
    }
    with pytest.raises(InvalidInput) as excinfo:
        lead_convert(lead=lead, by=users["rep"], **values)
    assert field in excinfo.value.errors
    assert Membership.objects.count() == 0
    lead.refresh_from_db()
    assert lead.state == "sql"


def test_renewal_eligibility_needs_engagement(agreement, users):
    m = signed_member(users, term_days=30)
    onboarding_task_complete(membership=m, step="welcome", by=users["success"])
    engagement_record(membership=m, kind="portal_login", points=29)
    with pytest.raises(InvalidTransition, match="engagement 29 below 30"):
        membership_mark_renewal_eligible(membership=m)


def test_churn_needs_a_coded_reason(agreement, users):
    m = signed_member(users)
    with pytest.raises(InvalidInput):
        membership_churn(membership=m, by=users["success"], reason="")
    with pytest.raises(InvalidInput):
        membership_churn(membership=m, by=users["success"], reason="other", note="")
    assert Membership.objects.get(pk=m.pk).state == MemberState.SIGNED


def test_a_checklist_step_is_done_once(agreement, users):
    m = signed_member(users)
    onboarding_task_complete(membership=m, step="kickoff_call", by=users["success"])
    with pytest.raises(DomainError, match="already done"):
        onboarding_task_complete(membership=m, step="kickoff_call", by=users["success"])
