"""Hand-off completeness and context, the paused-team rule, coded rejections and contact attempts."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Team, TeamKind
from handoffs.models import ContactAttempt, Handoff
from handoffs.services import attempt_log, handoff_accept, handoff_create, handoff_reject
from leads.models import Lead, LeadEvent, LeadEventKind, LeadState
from sla_portal.errors import DomainError, InvalidInput, InvalidTransition
from tests.factories import make_mql

pytestmark = pytest.mark.django_db


def test_complete_handoff_carries_the_context(agreement, users):
    # given
    lead = make_mql(owner=users["marketer"], interest="Wants the export working group")
    # when
    handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"], note="Hot: asked for pricing")
    # then
    assert handoff.is_complete and handoff.missing_fields == []
    assert handoff.required_fields == agreement.required_handoff_fields
    assert handoff.context["score"] == 80
    assert handoff.context["interest"] == "Wants the export working group"
    assert sorted(t["kind"] for t in handoff.context["engagement"]) == ["download", "webinar"]
    lead.refresh_from_db()
    assert (lead.state, lead.team, lead.owner) == (LeadState.HANDED_OFF, TeamKind.OUTREACH, users["rep"])


def test_incomplete_handoff_is_recorded_with_its_missing_fields(agreement, users):
    lead = make_mql(owner=users["marketer"], phone="", interest="")
    handoff = handoff_create(lead=lead, by=users["marketer"])
    assert handoff.is_complete is False
    assert handoff.missing_fields == ["phone", "interest"]
    event = LeadEvent.objects.get(lead=lead, kind=LeadEventKind.HANDOFF_CREATED)
    assert event.data["missing_fields"] == ["phone", "interest"]


def test_paused_team_cannot_hand_off_and_nothing_changes(agreement, users):
    # given
    Team.objects.filter(kind=TeamKind.MARKETING).update(
        handoffs_paused=True, handoffs_paused_reason="Hand-offs from Marketing are paused: 30% incomplete."
    )
    lead = make_mql(owner=users["marketer"])
    # when / then
    with pytest.raises(DomainError, match="paused: 30% incomplete") as excinfo:
        handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    assert excinfo.value.code == "handoffs_paused"
    assert Lead.objects.get(pk=lead.pk).state == LeadState.MQL
    assert Handoff.objects.count() == 0


def test_handoff_to_someone_outside_outreach_is_refused(agreement, users):
    lead = make_mql(owner=users["marketer"])
    with pytest.raises(InvalidInput) as excinfo:
        handoff_create(lead=lead, by=users["marketer"], to_user=users["success"])
    assert "to_user" in excinfo.value.errors
    assert Handoff.objects.count() == 0


def test_rejection_needs_a_reason_code_and_other_needs_a_note(agreement, users):
    lead = make_mql(owner=users["marketer"])
    handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    for reason, note in (("", ""), ("because", ""), ("other", "  ")):
        with pytest.raises(InvalidInput):
            handoff_reject(handoff=handoff, by=users["rep"], reason=reason, note=note)
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.PENDING
    handoff_reject(handoff=handoff, by=users["rep"], reason="data_incomplete", note="No phone number works")
    handoff.refresh_from_db()
    lead.refresh_from_db()
    assert (handoff.status, handoff.reject_reason) == (Handoff.Status.REJECTED, "data_incomplete")
    # the lead goes back to the marketer who handed it off, with the reason: the feedback loop
    assert (lead.state, lead.team, lead.owner, lead.last_reason) == (
        LeadState.REJECTED,
        TeamKind.MARKETING,
        users["marketer"],
        "data_incomplete",
    )


def test_a_handoff_is_answered_once(agreement, users):
    lead = make_mql(owner=users["marketer"])
    handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    handoff_accept(handoff=handoff, by=users["rep"])
    with pytest.raises(InvalidTransition, match="already been answered"):
        handoff_accept(handoff=handoff, by=users["rep2"])
    with pytest.raises(InvalidTransition):
        handoff_reject(handoff=handoff, by=users["rep2"], reason="fit")
    assert Handoff.objects.get(pk=handoff.pk).decided_by == users["rep"]


def test_unassigned_handoff_is_owned_by_whoever_accepts_it(agreement, users):
    lead = make_mql(owner=users["marketer"])
    handoff = handoff_create(lead=lead, by=users["marketer"])
    handoff_accept(handoff=handoff, by=users["rep2"])
    assert Lead.objects.get(pk=lead.pk).owner == users["rep2"]


def test_contact_attempt_validation(agreement, users):
    lead = make_mql(owner=users["marketer"])
    handoff_accept(handoff=handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"]), by=users["rep"])
    with pytest.raises(InvalidInput) as excinfo:
        attempt_log(lead=lead, by=users["rep"], channel="fax", outcome="sent")
    assert "channel" in excinfo.value.errors
    with pytest.raises(InvalidInput) as excinfo:
        attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="sent", at=timezone.now() + timedelta(days=1))
    assert "at" in excinfo.value.errors
    assert ContactAttempt.objects.count() == 0
    assert Lead.objects.get(pk=lead.pk).state == LeadState.SQL


def test_attempts_keep_a_timeline(agreement, users):
    at = datetime(2026, 11, 9, 10, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        lead = make_mql(owner=users["marketer"])
        handoff_accept(handoff=handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"]), by=users["rep"])
        attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="no_answer")
        attempt_log(lead=lead, by=users["rep"], channel="email", outcome="sent", note="Sent the brochure")
    kinds = list(LeadEvent.objects.filter(lead=lead).values_list("kind", "to_state"))
    assert kinds[-2:] == [(LeadEventKind.ATTEMPT_LOGGED, LeadState.WORKING), (LeadEventKind.ATTEMPT_LOGGED, "")]
