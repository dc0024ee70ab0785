"""Lead API: lists with filters, cursor pages and a fixed query count, detail, create/edit, the lead's own
transitions and touchpoints, CSV export, and who may see and do what."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from leads.models import Lead, LeadEvent, LeadState, Touchpoint
from leads.services import touchpoint_record
from sla.models import Clock, ClockState, Commitment
from tests.api.conftest import event_count
from tests.factories import LeadFactory, make_mql


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- list, scoping, filters -----------------------------------------------------------------------------


def test_marketing_sees_every_lead_outreach_only_handed_off_ones(api, lead_at):
    # given
    prospect, mql, handed = lead_at("prospect"), lead_at("mql"), lead_at("handed_off")
    # when
    marketing = api("marketer").get("/api/leads/")
    outreach = api("rep").get("/api/leads/")
    success = api("success").get("/api/leads/")
    # then
    assert marketing.status_code == 200
    assert {prospect.pk, mql.pk, handed.pk} <= _ids(marketing)
    assert _ids(outreach) == {handed.pk}
    assert _ids(success) == set()


def test_a_lead_outside_your_view_is_a_404_not_a_403(api, lead_at):
    # given
    mql = lead_at("mql")
    # when
    response = api("rep").get(f"/api/leads/{mql.pk}/")
    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_list_filters_by_state_source_owner_and_dates(api, users, lead_at):
    # given
    old = LeadFactory(source="event")
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    mql = lead_at("mql")
    LeadFactory(source="webinar")
    client = api("marketer")
    since = (timezone.now() - timedelta(days=7)).isoformat()
    # when
    by_state = client.get("/api/leads/", {"state": "mql"})
    by_source = client.get("/api/leads/", {"source": "event"})
    by_owner = client.get("/api/leads/", {"owner": users["marketer"].pk})
    recent = client.get("/api/leads/", {"created_after": since})
    several_states = client.get("/api/leads/?state=mql&state=prospect")
    # then
    assert _ids(by_state) == {mql.pk}
    assert _ids(by_source) == {old.pk}
    assert _ids(by_owner) == {mql.pk}
    assert old.pk not in _ids(recent) and mql.pk in _ids(recent)
    assert len(_ids(several_states)) == 3


def test_list_filters_breached_and_at_risk_through_the_sla_clocks(api, users):
    # given: an MQL's 24h hand-off clock; 20h later it is at risk (warns at 75%), 25h later overdue
    start = timezone.now() - timedelta(hours=30)
    with time_machine.travel(start, tick=False):
        late = make_mql(owner=users["marketer"])
    with time_machine.travel(timezone.now() - timedelta(hours=20), tick=False):
        risky = make_mql(owner=users["marketer"])
    fresh = make_mql(owner=users["marketer"])
    client = api("marketer")
    # when
    breached = client.get("/api/leads/", {"breached": "true"})
    at_risk = client.get("/api/leads/", {"at_risk": "true"})
    not_breached = client.get("/api/leads/", {"breached": "false"})
    # then
    assert _ids(breached) == {late.pk}
    assert _ids(at_risk) == {risky.pk}
    assert {risky.pk, fresh.pk} <= _ids(not_breached) and late.pk not in _ids(not_breached)
    rows = {row["id"]: row for row in breached.json()["results"]}
    assert rows[late.pk]["sla_breached"] is True and rows[late.pk]["sla_at_risk"] is False


def test_invalid_filter_values_answer_400_per_field(api):
    # when
    response = api("marketer").get("/api/leads/", {"state": "nonsense", "owner": "abc", "created_after": "yesterday"})
    # then
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert {"state", "owner", "created_after"} <= set(body["errors"])


def test_leads_are_cursor_paginated_without_gaps_or_repeats(api, agreement):
    # given
    created = {LeadFactory().pk for _ in range(7)}
    client = api("marketer")
    # when
    seen, url, pages = [], "/api/leads/?page_size=3", 0
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url, pages = page["next"], pages + 1
    # then
    assert pages == 3
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    assert "cursor=" in client.get("/api/leads/?page_size=3").json()["next"]


def test_an_invalid_cursor_is_a_404_json(api):
    response = api("marketer").get("/api/leads/", {"cursor": "not-a-cursor"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_pages_cost_the_same_number_of_queries_however_many_rows(api, users, django_assert_num_queries):
    # given
    ContentType.objects.get_for_model(Lead)  # the content-type cache is process-wide; warm it like a running server
    client = api("marketer")
    for _ in range(2):
        make_mql(owner=users["marketer"])
    client.get("/api/leads/")
    # then: token + user, the page (with owner, agreement and clock flags joined in)
    with django_assert_num_queries(2):
        small = client.get("/api/leads/?page_size=50")
    for _ in range(12):
        make_mql(owner=users["marketing_lead"])
    with django_assert_num_queries(2):
        large = client.get("/api/leads/?page_size=50")
    assert len(small.json()["results"]) == 2 and len(large.json()["results"]) == 14


def test_events_and_touchpoints_lists_cost_a_fixed_number_of_queries(api, users, django_assert_num_queries):
    # given
    client = api("marketer")
    make_mql(owner=users["marketer"])
    client.get("/api/lead-events/")
    with django_assert_num_queries(2):
        few_events = client.get("/api/lead-events/").json()["results"]
    with django_assert_num_queries(2):
        few_points = client.get("/api/touchpoints/").json()["results"]
    for _ in range(5):
        make_mql(owner=users["marketer"])
    with django_assert_num_queries(2):
        many_events = client.get("/api/lead-events/").json()["results"]
    with django_assert_num_queries(2):
        many_points = client.get("/api/touchpoints/").json()["results"]
    assert len(many_events) > len(few_events) and len(many_points) > len(few_points)


def test_touchpoints_and_events_are_scoped_to_visible_leads(api, lead_at):
    # given
    mql, handed = lead_at("mql"), lead_at("handed_off")
    # when
    points = api("rep").get("/api/touchpoints/").json()["results"]
    events = api("rep").get("/api/lead-events/", {"lead": mql.pk}).json()["results"]
    # then
    assert {p["lead"] for p in points} == {handed.pk}
    assert events == []


# --- detail, create, edit ---------------------------------------------------------------------------------


def test_detail_carries_touchpoints_and_clocks(api, lead_at):
    # given
    mql = lead_at("mql")
    # when
    body = api("marketer").get(f"/api/leads/{mql.pk}/").json()
    # then
    assert body["state"] == "mql"
    assert [t["kind"] for t in body["recent_touchpoints"]] == ["download", "webinar"]  # newest first
    assert [c["commitment"] for c in body["clocks"]] == [Commitment.MQL_HANDOFF]
    assert body["owner"]["username"] == "marketer"


def test_create_a_prospect(api, users):
    # when
    response = api("marketer").post(
        "/api/leads/",
        {"first_name": "Ada", "email": "ada@example.org", "sector": "Manufacturing", "employees": 120},
        format="json",
    )
    # then
    assert response.status_code == 201
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.state == LeadState.PROSPECT and lead.employees == 150  # 120 people → the 50–249 band
    assert LeadEvent.objects.filter(lead=lead, kind="created", actor=users["marketer"]).exists()


def test_create_refuses_a_duplicate_e_mail_in_any_case(api):
    # given
    LeadFactory(email="dup@example.org")
    # when
    response = api("marketer").post("/api/leads/", {"first_name": "X", "email": "DUP@Example.org"}, format="json")
    # then
    assert response.status_code == 400
    assert "email" in response.json()["errors"]
    assert Lead.objects.filter(email__iexact="dup@example.org").count() == 1


def test_create_reports_every_bad_field(api):
    response = api("marketer").post(
        "/api/leads/", {"email": "not-an-email", "source": "carrier-pigeon", "phone": "9" * 41}, format="json"
    )
    assert response.status_code == 400
    assert {"email", "first_name", "source", "phone"} <= set(response.json()["errors"])
    assert not Lead.objects.exists()


def test_only_marketing_creates_prospects(api):
    response = api("rep").post("/api/leads/", {"first_name": "X", "email": "x@example.org"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Lead.objects.exists()


def test_edit_a_lead_rescores_it(api, agreement):
    # given
    lead = LeadFactory(sector="Farming")
    before = Lead.objects.get(pk=lead.pk)
    # when
    response = api("marketer").patch(f"/api/leads/{lead.pk}/", {"sector": "Manufacturing"}, format="json")
    # then
    assert response.status_code == 200
    assert not before.imp_fit and response.json()["imp_fit"] is True
    assert response.json()["fit_score"] > before.fit_score


def test_edit_refuses_another_leads_e_mail(api):
    # given
    LeadFactory(email="taken@example.org")
    lead = LeadFactory()
    # when
    response = api("marketer").patch(f"/api/leads/{lead.pk}/", {"email": "TAKEN@example.org"}, format="json")
    # then
    assert response.status_code == 400 and "email" in response.json()["errors"]
    assert Lead.objects.get(pk=lead.pk).email == lead.email


def test_a_lead_with_outreach_cannot_be_edited_by_marketing(api, lead_at):
    # given
    lead = lead_at("sql")
    # when
    response = api("marketer").patch(f"/api/leads/{lead.pk}/", {"phone": "123"}, format="json")
    # then
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).phone == lead.phone


# --- transitions ------------------------------------------------------------------------------------------


def test_qualify_refuses_with_what_is_missing_and_changes_nothing(api, agreement):
    # given: a fitting prospect without touchpoints
    lead = LeadFactory()
    events = event_count(lead)
    # when
    response = api("marketer").post(f"/api/leads/{lead.pk}/qualify/")
    # then
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition" and "touchpoints" in body["detail"]
    assert body["from_state"] == "prospect" and body["to_state"] == "mql"
    assert Lead.objects.get(pk=lead.pk).state == LeadState.PROSPECT and event_count(lead) == events


def test_qualify_a_prospect_that_now_meets_the_thresholds(api, agreement):
    # given: touchpoints recorded while the agreement asked for more (it was amended since)
    lead = LeadFactory()
    touchpoint_record(lead=lead, kind="webinar")
    Lead.objects.filter(pk=lead.pk).update(state=LeadState.RECYCLED)
    touchpoint_record(lead=lead, kind="download")
    Lead.objects.filter(pk=lead.pk).update(state=LeadState.RECYCLED)
    # when
    response = api("marketer").post(f"/api/leads/{lead.pk}/qualify/")
    # then
    assert response.status_code == 200 and response.json()["state"] == "mql"
    assert LeadEvent.objects.filter(lead=lead, kind="mql_qualified").exists()


def test_recycle_an_sql(api, lead_at):
    # given
    lead = lead_at("sql")
    # when
    response = api("rep").post(f"/api/leads/{lead.pk}/recycle/", {"reason": "timing", "note": "Q3"}, format="json")
    # then
    assert response.status_code == 200
    assert response.json()["state"] == "recycled" and response.json()["team"] == "marketing"
    event = LeadEvent.objects.filter(lead=lead).last()
    assert (event.kind, event.reason, event.note) == ("recycled", "timing", "Q3")


def test_recycle_needs_a_known_reason(api, lead_at):
    lead = lead_at("sql")
    response = api("rep").post(f"/api/leads/{lead.pk}/recycle/", {"reason": "bored"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert Lead.objects.get(pk=lead.pk).state == LeadState.SQL


def test_recycling_a_prospect_is_an_illegal_transition(api, agreement):
    # given
    lead = LeadFactory()
    events = event_count(lead)
    # when
    response = api("marketer").post(f"/api/leads/{lead.pk}/recycle/", {"reason": "timing"}, format="json")
    # then
    assert response.status_code == 409
    assert "prospect" in response.json()["detail"]
    assert Lead.objects.get(pk=lead.pk).state == LeadState.PROSPECT and event_count(lead) == events


def test_disqualify_then_disqualify_again(api, agreement):
    # given
    lead = LeadFactory()
    client = api("marketer")
    # when
    first = client.post(f"/api/leads/{lead.pk}/disqualify/", {"reason": "no_budget"}, format="json")
    second = client.post(f"/api/leads/{lead.pk}/disqualify/", {"reason": "no_budget"}, format="json")
    # then
    assert first.status_code == 200 and first.json()["state"] == "disqualified"
    assert second.status_code == 409
    assert LeadEvent.objects.filter(lead=lead, kind="disqualified").count() == 1


def test_outreach_cannot_act_on_a_lead_marketing_holds(api, lead_at):
    # given: a rejected lead is back with Marketing but still visible to Outreach
    lead = lead_at("rejected")
    # when
    response = api("rep").post(f"/api/leads/{lead.pk}/disqualify/", {"reason": "no_budget"}, format="json")
    # then
    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).state == LeadState.REJECTED


def test_team_leads_assign_staff_do_not(api, users, agreement):
    # given
    lead = LeadFactory()
    payload = {"owner": users["marketer"].pk}
    # when
    staff = api("marketer").post(f"/api/leads/{lead.pk}/assign/", payload, format="json")
    lead_user = api("marketing_lead").post(f"/api/leads/{lead.pk}/assign/", payload, format="json")
    # then
    assert staff.status_code == 403
    assert lead_user.status_code == 200 and lead_user.json()["owner"]["id"] == users["marketer"].pk


def test_assign_refuses_someone_from_another_team_or_unknown(api, users, agreement):
    lead = LeadFactory()
    client = api("marketing_lead")
    other_team = client.post(f"/api/leads/{lead.pk}/assign/", {"owner": users["rep"].pk}, format="json")
    unknown = client.post(f"/api/leads/{lead.pk}/assign/", {"owner": 99999999999999999999}, format="json")
    assert other_team.status_code == 400 and "owner" in other_team.json()["errors"]
    assert unknown.status_code == 400 and "owner" in unknown.json()["errors"]
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_assigning_a_converted_lead_is_refused(api, users, lead_at):
    lead = lead_at("converted")
    response = api("admin").post(f"/api/leads/{lead.pk}/assign/", {"owner": None}, format="json")
    assert response.status_code == 409


# --- touchpoints on a lead --------------------------------------------------------------------------------


def test_record_a_touchpoint_that_qualifies_the_lead(api, agreement):
    # given
    lead = LeadFactory()
    client = api("marketer")
    # when
    first = client.post(f"/api/leads/{lead.pk}/touchpoints/", {"kind": "webinar"}, format="json")
    second = client.post(f"/api/leads/{lead.pk}/touchpoints/", {"kind": "download", "points": 30}, format="json")
    # then
    assert first.status_code == second.status_code == 201
    lead.refresh_from_db()
    assert lead.state == LeadState.MQL and lead.touchpoint_count == 2
    assert Clock.objects.filter(
        subject_id=lead.pk, commitment=Commitment.MQL_HANDOFF, state=ClockState.RUNNING
    ).exists()


def test_a_touchpoint_retry_with_the_same_key_is_answered_once(api, agreement):
    # given
    lead = LeadFactory()
    client = api("marketer")
    # when
    first = client.post(
        f"/api/leads/{lead.pk}/touchpoints/", {"kind": "visit"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        f"/api/leads/{lead.pk}/touchpoints/", {"kind": "visit"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    other = client.post(
        f"/api/leads/{lead.pk}/touchpoints/", {"kind": "form"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    # then
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Touchpoint.objects.filter(lead=lead).count() == 1


def test_touchpoint_validation(api, agreement):
    lead = LeadFactory()
    future = (timezone.now() + timedelta(days=2)).isoformat()
    response = api("marketer").post(
        f"/api/leads/{lead.pk}/touchpoints/", {"kind": "telepathy", "points": -1, "at": future}, format="json"
    )
    assert response.status_code == 400
    assert {"kind", "points", "at"} <= set(response.json()["errors"])
    assert not Touchpoint.objects.filter(lead=lead).exists()


# --- export -----------------------------------------------------------------------------------------------


def test_export_streams_the_filtered_list_as_csv(api, lead_at):
    # given
    mql = lead_at("mql")
    LeadFactory()
    # when
    response = api("marketer").get("/api/leads/export/", {"state": "mql"}, HTTP_ACCEPT="text/csv")
    # then
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [mql.pk]
    assert rows[0]["email"] == mql.email and rows[0]["owner"] == "marketer"


def test_export_errors_are_json_even_when_csv_was_asked_for(api):
    response = api("marketer").get("/api/leads/export/", {"state": "nonsense"}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json" and "state" in response.json()["errors"]


def test_export_defuses_spreadsheet_formulas_but_keeps_phone_numbers(api, agreement):
    # given
    LeadFactory(first_name='=HYPERLINK("http://evil")', phone="+44 20 7946 0000")
    # when
    response = api("marketer").get("/api/leads/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # then
    assert rows[0]["first_name"].startswith("'=")
    assert rows[0]["phone"] == "+44 20 7946 0000"


def test_export_is_scoped_like_the_list(api, lead_at):
    lead_at("mql")
    handed = lead_at("handed_off")
    response = api("rep").get("/api/leads/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == [handed.pk]


@pytest.mark.parametrize(
    "path", ["/api/touchpoints/export/", "/api/lead-events/export/", "/api/handoffs/export/", "/api/attempts/export/"]
)
def test_every_list_exports(api, lead_at, path):
    lead_at("working")
    response = api("admin").get(path)
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response.status_code == 200 and len(lines) >= 2
