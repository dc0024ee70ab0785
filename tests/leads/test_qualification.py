"""Automatic MQL qualification against the active agreement's thresholds (IMP fit, ≥ X touchpoints, score ≥ Y)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from leads.models import Lead, LeadEvent, LeadEventKind, LeadState, Touchpoint
from leads.services import lead_create, lead_qualify, lead_score, lead_update, touchpoint_record
from sla.clocks import clocks_for
from sla.models import Commitment
from sla_portal.errors import InvalidInput, InvalidTransition
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_score_is_fit_plus_intent(agreement):
    # given: sector, region (any) and size match → 20 + 10 + 20 fit; a webinar (20) and a download (10)
    lead = LeadFactory()
    touchpoint_record(lead=lead, kind="webinar")
    touchpoint_record(lead=lead, kind="download")
    # then
    assert lead_score(lead=lead, agreement=agreement) == {
        "imp_fit": True,
        "fit_score": 50,
        "intent_score": 30,
        "score": 80,
        "touchpoint_count": 2,
    }


def test_qualifies_automatically_at_the_second_touchpoint(agreement, users):
    # given
    at = datetime(2026, 11, 9, 10, tzinfo=UTC)
    lead = LeadFactory(owner=users["marketer"])
    # when: the first touchpoint leaves it a prospect (1 of 2), the second qualifies it
    with time_machine.travel(at, tick=False):
        touchpoint_record(lead=lead, kind="email_open")
        lead.refresh_from_db()
        assert lead.state == LeadState.PROSPECT
        touchpoint_record(lead=lead, kind="email_click")
    # then
    lead.refresh_from_db()
    assert lead.state == LeadState.MQL
    assert lead.agreement == agreement
    event = LeadEvent.objects.get(lead=lead, kind=LeadEventKind.MQL_QUALIFIED)
    assert (event.from_state, event.to_state, event.data["agreement"]) == (LeadState.PROSPECT, LeadState.MQL, 1)
    clock = clocks_for(lead).get(commitment=Commitment.MQL_HANDOFF)
    assert clock.due_at == at + timedelta(hours=24)


def test_no_mql_without_imp_fit_however_engaged(agreement):
    lead = LeadFactory(sector="Agriculture")
    for _ in range(5):
        touchpoint_record(lead=lead, kind="event")
    lead.refresh_from_db()
    assert (lead.state, lead.imp_fit, lead.score) == (LeadState.PROSPECT, False, 155)
    with pytest.raises(InvalidTransition, match="does not fit the Ideal Member Profile"):
        lead_qualify(lead=lead)


def test_no_mql_below_the_score_threshold(agreement):
    # given: the threshold is 60; a fitting lead (fit 50) with two visits (1 + 1) scores 52
    type(agreement).objects.filter(pk=agreement.pk).update(mql_min_score=60)
    lead = LeadFactory()
    touchpoint_record(lead=lead, kind="visit")
    touchpoint_record(lead=lead, kind="visit")
    lead.refresh_from_db()
    assert (lead.state, lead.score, lead.touchpoint_count) == (LeadState.PROSPECT, 52, 2)
    with pytest.raises(InvalidTransition, match="score 52 below 60"):
        lead_qualify(lead=lead)


def test_unknown_size_does_not_fit_when_the_imp_sets_a_minimum(agreement):
    lead = LeadFactory(employees=0)
    assert lead_score(lead=lead, agreement=agreement)["imp_fit"] is False


def test_filling_the_profile_later_qualifies_the_lead(agreement, users):
    lead = LeadFactory(sector="")
    touchpoint_record(lead=lead, kind="webinar")
    touchpoint_record(lead=lead, kind="webinar")
    assert Lead.objects.get(pk=lead.pk).state == LeadState.PROSPECT
    lead_update(lead=lead, by=users["marketer"], sector="Technology")
    assert Lead.objects.get(pk=lead.pk).state == LeadState.MQL


def test_a_recycled_lead_requalifies_on_new_engagement(agreement, users):
    from leads.services import lead_recycle

    lead = LeadFactory()
    touchpoint_record(lead=lead, kind="webinar")
    touchpoint_record(lead=lead, kind="webinar")
    lead_recycle(lead=lead, by=users["marketer"], reason="needs_nurture")
    assert Lead.objects.get(pk=lead.pk).state == LeadState.RECYCLED
    touchpoint_record(lead=lead, kind="download")
    assert Lead.objects.get(pk=lead.pk).state == LeadState.MQL


def test_idempotency_key_never_records_a_second_touchpoint(agreement):
    lead = LeadFactory()
    first = touchpoint_record(lead=lead, kind="form", idempotency_key="form-123")
    again = touchpoint_record(lead=lead, kind="form", idempotency_key="form-123")
    assert first.pk == again.pk
    assert Touchpoint.objects.filter(lead=lead).count() == 1


def test_email_is_unique_case_insensitively(agreement):
    LeadFactory(email="Ada@Example.org")
    with pytest.raises(InvalidInput) as excinfo:
        lead_create(first_name="Ada", email="ada@example.ORG")
    assert "already exists" in excinfo.value.errors["email"]
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_name": "", "email": "x@example.org"}, "first_name"),
        ({"first_name": "A", "email": "not-an-email"}, "email"),
        ({"first_name": "A", "email": "a@example.org", "source": "carrier-pigeon"}, "source"),
        ({"first_name": "A", "email": "a@example.org", "shoe_size": 44}, "shoe_size"),
    ],
)
def test_bad_lead_data_is_refused_field_by_field(agreement, fields, field):
    with pytest.raises(InvalidInput) as excinfo:
        lead_create(**fields)
    assert field in excinfo.value.errors
    assert Lead.objects.count() == 0


def test_bad_touchpoint_is_refused_and_changes_nothing(agreement):
    lead = LeadFactory()
    with pytest.raises(InvalidInput):
        touchpoint_record(lead=lead, kind="carrier-pigeon")
    with pytest.raises(InvalidInput):
        touchpoint_record(lead=lead, kind="webinar", points=-5)
    assert Touchpoint.objects.count() == 0
