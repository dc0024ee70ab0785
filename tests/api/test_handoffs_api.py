"""Hand-off API: hand-off on the lead, accept/reject on the hand-off, contact attempts; same services and rules
as the screens, with 400/403/404/409 for what they refuse."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Team, TeamKind
from handoffs.models import ContactAttempt, Handoff
from leads.models import Lead, LeadEvent, LeadState
from sla.models import Clock, ClockState, Commitment
from tests.api.conftest import event_count


def _handoff(lead) -> Handoff:
    return Handoff.objects.filter(lead=lead, kind=Handoff.Kind.TO_OUTREACH).latest("pk")


def test_hand_off_an_mql(api, users, lead_at):
    # given
    lead = lead_at("mql")
    # when
    response = api("marketer").post(
        f"/api/leads/{lead.pk}/hand-off/", {"to_user": users["rep"].pk, "note": "Hot"}, format="json"
    )
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending" and body["to_user"]["username"] == "rep" and body["lead"]["id"] == lead.pk
    assert body["is_complete"] is True and body["missing_fields"] == []
    lead.refresh_from_db()
    assert lead.state == LeadState.HANDED_OFF and lead.team == TeamKind.OUTREACH
    assert Clock.objects.filter(
        subject_id=lead.pk, commitment=Commitment.FIRST_RESPONSE, state=ClockState.RUNNING
    ).exists()
    assert LeadEvent.objects.filter(lead=lead, kind="handoff_created").count() == 1


def test_handing_off_a_prospect_is_an_illegal_transition(api, lead_at):
    # given
    lead = lead_at("prospect")
    events = event_count(lead)
    # when
    response = api("marketer").post(f"/api/leads/{lead.pk}/hand-off/", {}, format="json")
    # then
    assert response.status_code == 409
    assert "only MQLs and rejected leads can be handed off" in response.json()["detail"]
    assert not Handoff.objects.filter(lead=lead).exists() and event_count(lead) == events


def test_hand_off_to_someone_outside_outreach_is_a_field_error(api, users, lead_at):
    lead = lead_at("mql")
    client = api("marketer")
    wrong_team = client.post(f"/api/leads/{lead.pk}/hand-off/", {"to_user": users["success"].pk}, format="json")
    not_a_user = client.post(f"/api/leads/{lead.pk}/hand-off/", {"to_user": "bob"}, format="json")
    assert wrong_team.status_code == 400 and "to_user" in wrong_team.json()["errors"]
    assert not_a_user.status_code == 400 and "to_user" in not_a_user.json()["errors"]
    assert Lead.objects.get(pk=lead.pk).state == LeadState.MQL


def test_hand_offs_pause_when_marketing_is_paused(api, lead_at):
    # given
    lead = lead_at("mql")
    Team.objects.filter(kind=TeamKind.MARKETING).update(handoffs_paused=True, handoffs_paused_reason="Fix the data")
    # when
    response = api("marketer").post(f"/api/leads/{lead.pk}/hand-off/", {}, format="json")
    # then
    assert response.status_code == 409
    assert response.json() == {"detail": "Fix the data", "code": "handoffs_paused"}


def test_outreach_cannot_hand_off_and_does_not_even_see_mqls(api, lead_at):
    lead = lead_at("mql")
    response = api("rep").post(f"/api/leads/{lead.pk}/hand-off/", {}, format="json")
    assert response.status_code == 404


def test_marketing_cannot_hand_off_what_outreach_holds(api, lead_at):
    lead = lead_at("handed_off")
    response = api("marketer").post(f"/api/leads/{lead.pk}/hand-off/", {}, format="json")
    assert response.status_code == 403
    assert Handoff.objects.filter(lead=lead).count() == 1


def test_accept_then_accept_again(api, lead_at):
    # given
    lead = lead_at("handed_off")
    handoff = _handoff(lead)
    client = api("rep")
    # when
    first = client.post(f"/api/handoffs/{handoff.pk}/accept/")
    events = event_count(lead)
    second = client.post(f"/api/handoffs/{handoff.pk}/accept/")
    # then
    assert first.status_code == 200
    assert first.json()["status"] == "accepted" and first.json()["decided_by"]["username"] == "rep"
    assert Lead.objects.get(pk=lead.pk).state == LeadState.SQL
    assert second.status_code == 409 and "already been answered" in second.json()["detail"]
    assert event_count(lead) == events


def test_only_outreach_answers_a_hand_off(api, lead_at):
    lead = lead_at("handed_off")
    handoff = _handoff(lead)
    response = api("marketer").post(f"/api/handoffs/{handoff.pk}/accept/")
    assert response.status_code == 403
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.PENDING


def test_reject_with_a_reason(api, lead_at):
    # given
    lead = lead_at("handed_off")
    handoff = _handoff(lead)
    # when
    response = api("rep").post(f"/api/handoffs/{handoff.pk}/reject/", {"reason": "fit"}, format="json")
    # then
    assert response.status_code == 200 and response.json()["reject_reason"] == "fit"
    lead.refresh_from_db()
    assert lead.state == LeadState.REJECTED and lead.owner.username == "marketer"


def test_reject_needs_a_reason_and_a_note_for_other(api, lead_at):
    lead = lead_at("handed_off")
    handoff = _handoff(lead)
    client = api("rep")
    no_reason = client.post(f"/api/handoffs/{handoff.pk}/reject/", {}, format="json")
    other = client.post(f"/api/handoffs/{handoff.pk}/reject/", {"reason": "other"}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    assert other.status_code == 400 and other.json()["errors"] == {"note": ["Say why, when the reason is 'Other'."]}
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.PENDING


def test_hand_off_list_filters_and_scoping(api, lead_at):
    # given
    pending = _handoff(lead_at("handed_off"))
    accepted = _handoff(lead_at("sql"))
    # when
    only_pending = api("rep").get("/api/handoffs/", {"status": "pending"}).json()
    success_view = api("success").get("/api/handoffs/").json()
    detail = api("rep").get(f"/api/handoffs/{accepted.pk}/").json()
    # then
    assert [h["id"] for h in only_pending["results"]] == [pending.pk]
    assert success_view["count"] == 0
    assert detail["context"]["score"] >= 50


# --- contact attempts ------------------------------------------------------------------------------------


def test_log_an_attempt_on_an_sql(api, lead_at):
    # given
    lead = lead_at("sql")
    # when
    response = api("rep").post(
        f"/api/leads/{lead.pk}/attempts/", {"channel": "phone", "outcome": "voicemail"}, format="json"
    )
    # then
    assert response.status_code == 201 and response.json()["by"]["username"] == "rep"
    assert Lead.objects.get(pk=lead.pk).state == LeadState.WORKING
    clock = Clock.objects.get(subject_id=lead.pk, commitment=Commitment.FOLLOW_UP)
    assert clock.progress_count == 1


def test_attempts_only_on_accepted_leads(api, lead_at):
    lead = lead_at("handed_off")
    response = api("rep").post(
        f"/api/leads/{lead.pk}/attempts/", {"channel": "phone", "outcome": "sent"}, format="json"
    )
    assert response.status_code == 409
    assert not ContactAttempt.objects.filter(lead=lead).exists()


def test_attempt_validation(api, lead_at):
    lead = lead_at("sql")
    future = (timezone.now() + timedelta(hours=3)).isoformat()
    response = api("rep").post(
        f"/api/leads/{lead.pk}/attempts/", {"channel": "pigeon", "outcome": "sent", "at": future}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"channel", "at"}


def test_attempt_list_is_cursor_paginated_and_filtered(api, users, lead_at):
    lead = lead_at("working")
    other = lead_at("working")
    body = api("rep").get("/api/attempts/", {"lead": lead.pk, "page_size": 1}).json()
    assert [a["lead"] for a in body["results"]] == [lead.pk]
    assert body["next"] is None and "count" not in body
    assert api("rep").get(f"/api/attempts/{ContactAttempt.objects.get(lead=other).pk}/").status_code == 200
