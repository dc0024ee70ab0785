"""SLA API: the agreement (read-only), escalations and plans (with their transitions), KPI results."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import TeamKind
from metrics.evaluation import kpi_result_record
from sla.escalations import clocks_sweep
from sla.models import Agreement, Escalation, EscalationKind, KpiMetric, Plan
from sla.services import agreement_draft
from tests.factories import make_mql


def test_the_active_agreement_with_its_terms(api, agreement):
    body = api("rep").get("/api/agreement/").json()
    assert body["version"] == agreement.version and body["status"] == "active"
    assert body["mql_min_touchpoints"] == 2
    terms = {t["commitment"]: t for t in body["terms"]}
    assert terms["first_response"]["amount"] == 4 and terms["first_response"]["calendar"]["time_zone"]
    assert {"marketing", "outreach", "member_success"} <= set(body["parties"])
    assert body["kpi_targets"]


def test_no_active_agreement_is_a_404(users):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users['rep']).key}")
    response = client.get("/api/agreement/")
    assert response.status_code == 404 and response.json()["detail"] == "No SLA agreement is active."


def test_versions_by_number(api, users, agreement):
    # given
    draft = agreement_draft(by=users["admin"], based_on=agreement, mql_min_score=60)
    client = api("marketer")
    # when
    listing = client.get("/api/agreements/").json()
    one = client.get(f"/api/agreements/{draft.version}/").json()
    drafts = client.get("/api/agreements/", {"status": "draft"}).json()
    missing = client.get("/api/agreements/999/")
    # then
    assert [a["version"] for a in listing["results"]] == [draft.version, agreement.version]
    assert one["based_on_version"] == agreement.version and one["mql_min_score"] == 60 and one["terms"]
    assert [a["version"] for a in drafts["results"]] == [draft.version]
    assert missing.status_code == 404
    assert Agreement.objects.count() == 2


# --- escalations ------------------------------------------------------------------------------------------


@pytest.fixture
def breach(users, agreement):
    """An MQL nobody handed off in 24h: the sweep raises a breach escalation for Marketing."""
    with time_machine.travel(timezone.now() - timedelta(hours=30), tick=False):
        make_mql(owner=users["marketer"])
    clocks_sweep()
    return Escalation.objects.get(kind=EscalationKind.CLOCK_BREACH)


def test_escalations_are_scoped_to_team_owner_and_heads(api, breach):
    marketing = api("marketer").get("/api/escalations/").json()
    outreach = api("rep").get("/api/escalations/").json()
    head = api("outreach_head").get("/api/escalations/").json()
    assert [e["id"] for e in marketing["results"]] == [breach.pk]
    assert outreach["count"] == 0
    assert head["count"] == 1
    assert marketing["results"][0]["commitment"] == "mql_handoff" and marketing["results"][0]["due_at"]
    assert api("rep").get(f"/api/escalations/{breach.pk}/").status_code == 404


def test_escalation_filters(api, breach):
    client = api("marketing_head")
    assert client.get("/api/escalations/", {"kind": "clock_breach", "status": "open"}).json()["count"] == 1
    assert client.get("/api/escalations/", {"team": "outreach"}).json()["count"] == 0
    assert client.get("/api/escalations/", {"kind": "bogus"}).status_code == 400


def test_acknowledge_then_resolve(api, breach):
    # given: the owner (the marketer) acts on it
    client = api("marketer")
    # when
    acknowledged = client.post(f"/api/escalations/{breach.pk}/acknowledge/")
    again = client.post(f"/api/escalations/{breach.pk}/acknowledge/")
    resolved = client.post(f"/api/escalations/{breach.pk}/resolve/", {"note": "Handed off late"}, format="json")
    # then
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"
    assert again.status_code == 409
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert "Handed off late" in Escalation.objects.get(pk=breach.pk).detail


def test_staff_who_do_not_own_an_escalation_cannot_act_on_it(api, users, breach):
    Escalation.objects.filter(pk=breach.pk).update(owner=users["marketing_lead"])
    response = api("marketer").post(f"/api/escalations/{breach.pk}/acknowledge/")
    assert response.status_code == 403
    assert Escalation.objects.get(pk=breach.pk).status == Escalation.Status.OPEN


# --- KPI results and corrective plans ---------------------------------------------------------------------


@pytest.fixture
def corrective_plan(agreement):
    """Marketing missed its MQL volume two months running: a KPI escalation and a corrective plan."""
    target = agreement.kpi_targets.get(team__kind=TeamKind.MARKETING, metric=KpiMetric.MQL_VOLUME)
    now = timezone.now()
    kpi_result_record(target=target, start=date(2026, 1, 1), end=date(2026, 2, 1), agreement=agreement, now=now)
    kpi_result_record(target=target, start=date(2026, 2, 1), end=date(2026, 3, 1), agreement=agreement, now=now)
    return Plan.objects.get(team__kind=TeamKind.MARKETING)


def test_kpi_results_filter_by_team_and_metric(api, corrective_plan):
    client = api("rep")
    body = client.get("/api/kpi-results/", {"team": "marketing", "metric": "mql_volume"}).json()
    assert [(r["period_start"], r["met"], r["consecutive_misses"]) for r in body["results"]] == [
        ("2026-02-01", False, 2),
        ("2026-01-01", False, 1),
    ]
    assert body["results"][0]["comparator"] == "gte" and body["results"][0]["target"] == "40.00"
    assert client.get("/api/kpi-results/", {"met": "true"}).json()["count"] == 0
    assert client.get("/api/kpi-results/", {"period_after": "2026-02-01"}).json()["count"] == 1


def test_plan_submit_and_accept(api, corrective_plan):
    # given: the plan belongs to Marketing's team lead; a department head accepts it
    submit = {"root_cause": "Webinar series paused", "actions": "Restart webinars; add paid campaign"}
    # when
    empty = api("marketing_lead").post(f"/api/plans/{corrective_plan.pk}/submit/", {"root_cause": ""}, format="json")
    early_accept = api("marketing_head").post(f"/api/plans/{corrective_plan.pk}/accept/")
    submitted = api("marketing_lead").post(f"/api/plans/{corrective_plan.pk}/submit/", submit, format="json")
    lead_accepts = api("marketing_lead").post(f"/api/plans/{corrective_plan.pk}/accept/")
    head_accepts = api("marketing_head").post(f"/api/plans/{corrective_plan.pk}/accept/")
    # then
    assert empty.status_code == 400 and {"root_cause", "actions"} <= set(empty.json()["errors"])
    assert early_accept.status_code == 409
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert lead_accepts.status_code == 403
    assert head_accepts.status_code == 200 and head_accepts.json()["accepted_by"]["username"] == "marketing_head"
    assert Escalation.objects.get(pk=corrective_plan.escalation_id).status == Escalation.Status.RESOLVED


def test_plans_are_scoped_to_the_team(api, corrective_plan):
    assert api("marketer").get("/api/plans/").json()["count"] == 1
    assert api("rep").get("/api/plans/").json()["count"] == 0
    assert (
        api("rep").post(f"/api/plans/{corrective_plan.pk}/submit/", {"root_cause": "x", "actions": "y"}).status_code
        == 404
    )
    assert (
        api("marketer")
        .post(f"/api/plans/{corrective_plan.pk}/submit/", {"root_cause": "x", "actions": "y"}, format="json")
        .status_code
        == 403
    )


def test_an_escalation_with_a_plan_resolves_only_through_the_plan(api, corrective_plan):
    response = api("marketing_head").post(
        f"/api/escalations/{corrective_plan.escalation_id}/resolve/", {}, format="json"
    )
    assert response.status_code == 409 and "plan is accepted" in response.json()["detail"]


def test_every_sla_list_exports(api, corrective_plan):
    for path in ("/api/escalations/export/", "/api/plans/export/", "/api/kpi-results/export/"):
        response = api("marketing_head").get(path)
        assert response.status_code == 200
        assert len(b"".join(response.streaming_content).decode().splitlines()) >= 2, path
