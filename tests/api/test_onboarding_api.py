"""Member API: conversion, signing, the onboarding checklist, engagement, renewal, churn and reassignment."""

from datetime import date, timedelta

import time_machine
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from leads.models import Lead, LeadState
from onboarding.models import EngagementActivity, Membership, MembershipEvent, MemberState
from onboarding.services import engagement_record, onboarding_task_complete
from sla.models import Clock, Commitment

CONTRACT = {
    "membership_type": "corporate",
    "contract_value": "1500.00",
    "term_start": "2026-01-01",
    "term_end": "2027-01-01",
}


def _events(membership) -> int:
    return MembershipEvent.objects.filter(membership=membership).count()


def test_convert_an_sql_into_a_member(api, users, lead_at):
    # given
    lead = lead_at("working")
    # when
    response = api("rep").post(
        f"/api/leads/{lead.pk}/convert/",
        {**CONTRACT, "owner": users["success"].pk, "notes": "Wants events"},
        format="json",
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "signed" and body["owner"]["username"] == "success" and body["contract_value"] == "1500.00"
    assert [t["step"] for t in body["tasks"]] == ["welcome", "kickoff_call", "portal_access", "first_event_invite"]
    assert {c["commitment"] for c in body["clocks"]} == {Commitment.ONBOARDING_START, Commitment.WELCOME}
    assert Lead.objects.get(pk=lead.pk).state == LeadState.CONVERTED


def test_converting_a_lead_not_yet_accepted_is_refused(api, lead_at):
    lead = lead_at("mql")
    response = api("marketer").post(f"/api/leads/{lead.pk}/convert/", CONTRACT, format="json")
    assert response.status_code == 409 and "only accepted SQLs can be converted" in response.json()["detail"]
    assert not Membership.objects.exists()


def test_conversion_input_is_checked_field_by_field(api, users, lead_at):
    lead = lead_at("sql")
    client = api("rep")
    backwards = client.post(f"/api/leads/{lead.pk}/convert/", {**CONTRACT, "term_end": "2025-06-01"}, format="json")
    bad = client.post(
        f"/api/leads/{lead.pk}/convert/",
        {"membership_type": "gold", "contract_value": "-5", "term_start": "1900-01-01", "owner": users["rep"].pk},
        format="json",
    )
    wrong_owner = client.post(f"/api/leads/{lead.pk}/convert/", {**CONTRACT, "owner": users["rep"].pk}, format="json")
    assert backwards.status_code == 400 and set(backwards.json()["errors"]) == {"term_end"}
    assert bad.status_code == 400
    assert {"membership_type", "contract_value", "term_start", "term_end"} <= set(bad.json()["errors"])
    assert wrong_owner.status_code == 400 and "owner" in wrong_owner.json()["errors"]
    assert not Membership.objects.exists()


def test_sign_a_member_without_a_lead(api, users, agreement):
    response = api("success").post(
        "/api/memberships/",
        {**CONTRACT, "organisation": "Acme", "contact_name": "Jo", "email": "jo@acme.test"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["lead"] is None
    assert Membership.objects.get().organisation == "Acme"


def test_only_member_success_signs(api, agreement):
    response = api("rep").post(
        "/api/memberships/",
        {**CONTRACT, "organisation": "Acme", "contact_name": "Jo", "email": "jo@acme.test"},
        format="json",
    )
    assert response.status_code == 403 and not Membership.objects.exists()


def test_memberships_list_costs_a_fixed_number_of_queries(api, lead_at, django_assert_num_queries):
    ContentType.objects.get_for_model(Membership)
    client = api("success")
    lead_at("converted")
    client.get("/api/memberships/")
    # token + user + team, count, page, the onboarding tasks with who did them
    with django_assert_num_queries(4):
        few = client.get("/api/memberships/").json()
    lead_at("converted")
    lead_at("converted")
    with django_assert_num_queries(4):
        many = client.get("/api/memberships/").json()
    assert few["count"] == 1 and many["count"] == 3


def test_memberships_filter_by_state_and_breach(api, users, member):
    # given: the onboarding-start clock (5 business days) is long overdue
    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        client = api("success")
        breached = client.get("/api/memberships/", {"breached": "true"}).json()
        signed = client.get("/api/memberships/", {"state": "signed"}).json()
        onboarded = client.get("/api/memberships/", {"state": "onboarded"}).json()
    assert [m["id"] for m in breached["results"]] == [member.pk]
    assert signed["count"] == 1 and onboarded["count"] == 0


def test_start_onboarding_once(api, member):
    client = api("success")
    first = client.post(f"/api/memberships/{member.pk}/start-onboarding/")
    events = _events(member)
    second = client.post(f"/api/memberships/{member.pk}/start-onboarding/")
    assert first.status_code == 200 and first.json()["state"] == "onboarding"
    assert second.status_code == 409 and _events(member) == events


def test_the_welcome_step_onboards_and_cannot_be_ticked_twice(api, member):
    client = api("success")
    first = client.post(f"/api/memberships/{member.pk}/complete-step/", {"step": "welcome"}, format="json")
    again = client.post(f"/api/memberships/{member.pk}/complete-step/", {"step": "welcome"}, format="json")
    unknown = client.post(f"/api/memberships/{member.pk}/complete-step/", {"step": "party"}, format="json")
    assert first.status_code == 200 and first.json()["state"] == "onboarded"
    assert again.status_code == 409
    assert unknown.status_code == 400 and "step" in unknown.json()["errors"]


def test_only_member_success_works_members(api, member):
    response = api("rep").post(f"/api/memberships/{member.pk}/complete-step/", {"step": "welcome"}, format="json")
    assert response.status_code == 403
    assert Membership.objects.get(pk=member.pk).state == MemberState.SIGNED


def test_record_engagement_until_churned(api, users, member):
    client = api("success")
    recorded = client.post(f"/api/memberships/{member.pk}/engagements/", {"kind": "event"}, format="json")
    churn = client.post(f"/api/memberships/{member.pk}/churn/", {"reason": "price"}, format="json")
    after = client.post(f"/api/memberships/{member.pk}/engagements/", {"kind": "event"}, format="json")
    assert recorded.status_code == 201 and recorded.json()["points"] == 15
    assert churn.status_code == 200 and churn.json()["state"] == "churned"
    assert after.status_code == 409 and "churned" in after.json()["detail"]
    assert EngagementActivity.objects.filter(membership=member).count() == 1


def test_churn_needs_a_note_for_other_and_cannot_happen_twice(api, member):
    client = api("success")
    no_note = client.post(f"/api/memberships/{member.pk}/churn/", {"reason": "other"}, format="json")
    done = client.post(f"/api/memberships/{member.pk}/churn/", {"reason": "other", "note": "Moved"}, format="json")
    twice = client.post(f"/api/memberships/{member.pk}/churn/", {"reason": "price"}, format="json")
    assert no_note.status_code == 400 and "note" in no_note.json()["errors"]
    assert done.status_code == 200
    assert twice.status_code == 409


def test_renewal_eligibility_says_what_is_missing(api, member):
    onboarding_task_complete(membership=member, step="welcome", by=None)
    response = api("success").post(f"/api/memberships/{member.pk}/mark-renewal-eligible/")
    assert response.status_code == 409 and "engagement" in response.json()["detail"]
    assert Membership.objects.get(pk=member.pk).state == MemberState.ONBOARDED


def test_renew_an_eligible_member(api, users, member):
    # given: onboarded, engaged enough, and inside the renewal window
    onboarding_task_complete(membership=member, step="welcome", by=None)
    engagement_record(membership=member, kind="committee", points=40)
    client = api("success")
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 12, 1, 10)), tick=False):
        eligible = client.post(f"/api/memberships/{member.pk}/mark-renewal-eligible/")
        too_short = client.post(f"/api/memberships/{member.pk}/renew/", {"new_term_end": "2026-12-31"}, format="json")
        renewed = client.post(
            f"/api/memberships/{member.pk}/renew/",
            {"new_term_end": "2028-01-01", "contract_value": "1800"},
            format="json",
        )
    assert eligible.status_code == 200 and eligible.json()["state"] == "renewal_eligible"
    assert too_short.status_code == 400 and "new_term_end" in too_short.json()["errors"]
    assert renewed.status_code == 200
    assert renewed.json()["term_end"] == "2028-01-01" and renewed.json()["renewals"] == 1
    assert not Clock.objects.filter(
        subject_id=member.pk, commitment=Commitment.RENEWAL_OUTREACH, state="running"
    ).exists()


def test_renewing_a_member_who_is_not_eligible_is_refused(api, member):
    response = api("success").post(
        f"/api/memberships/{member.pk}/renew/", {"new_term_end": "2029-01-01"}, format="json"
    )
    assert response.status_code == 409
    assert Membership.objects.get(pk=member.pk).term_end == date(2027, 1, 1)


def test_team_lead_reassigns_members(api, users, member):
    staff = api("success").post(f"/api/memberships/{member.pk}/assign/", {"owner": users["success"].pk}, format="json")
    lead = api("success_lead").post(
        f"/api/memberships/{member.pk}/assign/", {"owner": users["success"].pk}, format="json"
    )
    wrong = api("success_lead").post(f"/api/memberships/{member.pk}/assign/", {"owner": users["rep"].pk}, format="json")
    assert staff.status_code == 403
    assert lead.status_code == 200 and lead.json()["owner"]["username"] == "success"
    assert wrong.status_code == 400 and "owner" in wrong.json()["errors"]


def test_membership_events_list(api, member):
    body = api("marketer").get("/api/membership-events/", {"membership": member.pk}).json()
    assert [e["kind"] for e in body["results"]] == ["signed"]
