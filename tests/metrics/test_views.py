"""The pages: who sees them, what they show, and how many queries they cost whatever the data size."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse

from handoffs.services import attempt_log, handoff_accept, handoff_create, handoff_reject
from metrics.models import GoalMetric, SharedGoal
from metrics.rollups import rollups_refresh
from onboarding.models import OnboardingStep
from onboarding.services import lead_convert, membership_churn, onboarding_task_complete
from tests.factories import make_mql

from .worlds import UTC, at, build_march

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 28, 12, tzinfo=UTC)


def funnel_batch(n: int, users) -> None:
    """n leads through the funnel in March 2025, with every kind of outcome, through the services."""
    marketer, rep, success = users["marketer"], users["rep"], users["success"]
    for i in range(n):
        t = datetime(2025, 3, 3, 9, tzinfo=UTC) + timedelta(hours=7 * i % 400)
        with at(t):
            lead = make_mql(at=t, source=["webinar", "event", "paid"][i % 3], campaign=f"Campaign {i % 4}")
        with at(t + timedelta(hours=1)):
            handoff = handoff_create(lead=lead, by=marketer)
        with at(t + timedelta(hours=3)):
            if i % 3 == 0:
                handoff_reject(handoff=handoff, by=rep, reason=["fit", "timing"][i % 2])
                continue
            handoff_accept(handoff=handoff, by=rep)
        with at(t + timedelta(hours=5)):
            attempt_log(lead=lead, by=rep, channel="phone", outcome="connected")
        if i % 2:
            continue
        with at(t + timedelta(days=2)):
            member = lead_convert(
                lead=lead,
                by=rep,
                membership_type=["corporate", "small_business"][i % 2],
                contract_value=1000,
                term_start=(t + timedelta(days=2)).date(),
                term_end=date(2026, 3, 1),
                owner=success,
            )
        with at(t + timedelta(days=3)):
            onboarding_task_complete(membership=member, step=OnboardingStep.WELCOME, by=success)
        if i % 4 == 2:
            with at(t + timedelta(days=4)):
                membership_churn(membership=member, by=success, reason="price")


@pytest.fixture
def lead_client(client, users):
    client.force_login(users["outreach_lead"])
    return client


def test_dashboard_needs_a_sign_in(client, agreement):
    # given / when
    response = client.get(reverse("metrics:dashboard"))
    # then
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_every_signed_in_user_sees_the_shared_dashboard(client, users, agreement):
    # given a member of staff with no lead role
    funnel_batch(3, users)
    client.force_login(users["success"])
    # when
    with at(NOW):
        response = client.get(reverse("metrics:dashboard"))
    # then the whole journey, the KPI table and every family is there
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "Prospect",
        "Renewed",
        "The agreement's KPIs",
        "Marketing metrics",
        "Outreach metrics",
        "Member Success metrics",
        "Bottlenecks now",
        "Renewal cohorts",
        "<svg",
    ):
        assert text in html


def test_dashboard_funnel_shows_the_hand_worked_march(lead_client, users, agreement):
    # given the March of tests/metrics/worlds.py
    build_march(users)
    # when
    with at(datetime(2025, 4, 5, 12, tzinfo=UTC)):
        response = lead_client.get(reverse("metrics:dashboard"), {"period": "last_month"})
    # then six prospects, six MQL entries, three SQLs, six members, two onboarded, one renewal
    stages = {s.key: s.count for s in response.context["d"].funnel}
    assert stages == {"prospect": 6, "mql": 6, "sql": 3, "member": 6, "onboarded": 2, "engaged": 0, "renewed": 1}
    kpis = {row.target.metric: row.result.value for row in response.context["d"].kpi_rows}
    assert str(kpis["mql_acceptance_rate"]) == "75.00" and str(kpis["first_response_hours"]) == "2.25"


# The dashboard's queries, pinned: session and user; rollup state and rows; the agreement, its versions and KPI
# table; the KPI table's metrics, history and open escalations; the period's KPIs and the eight live measures;
# campaign costs; bottlenecks; cohorts; shared goals. None of them is per lead, per day or per row.
DASHBOARD_QUERIES_STORED = 45
LIVE_BUILD_QUERIES = 7  # the days after the last refresh are built on the fly


@pytest.mark.parametrize("n", [5, 50])
def test_dashboard_query_count_does_not_grow_with_leads(lead_client, users, agreement, django_assert_num_queries, n):
    # given n leads through the funnel, folded into the rollups the night before
    funnel_batch(n, users)
    with at(NOW - timedelta(hours=10)):
        rollups_refresh()
    # when / then
    with at(NOW), django_assert_num_queries(DASHBOARD_QUERIES_STORED + LIVE_BUILD_QUERIES):
        response = lead_client.get(reverse("metrics:dashboard"))
    assert response.status_code == 200
    assert response.context["d"].funnel[1].count == n


@pytest.mark.parametrize("n", [5, 50])
def test_a_past_period_reads_only_rollups(lead_client, users, agreement, django_assert_num_queries, n):
    # given n leads in March, rolled up in April
    funnel_batch(n, users)
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        rollups_refresh()
    # when March is shown: no day of it is built live
    with at(datetime(2025, 4, 2, 9, tzinfo=UTC)), django_assert_num_queries(DASHBOARD_QUERIES_STORED):
        response = lead_client.get(reverse("metrics:dashboard"), {"period": "last_month"})
    assert response.context["d"].live_from is None


def test_team_page_opens_on_that_teams_view(lead_client, users, agreement):
    # given
    funnel_batch(3, users)
    # when
    with at(NOW):
        response = lead_client.get(reverse("metrics:team", args=["member_success"]))
    # then its KPIs come first and its family table leads the team section
    d = response.context["d"]
    assert response.status_code == 200
    assert d.kpi_rows[0].target.team.kind == "member_success"
    assert response.context["families"][0].key == "family_member_success"
    assert b"Member Success: our view of the shared numbers" in response.content


def test_unknown_team_page_is_404(lead_client, agreement):
    assert lead_client.get(reverse("metrics:team", args=["sales"])).status_code == 404


def test_bad_filters_fall_back_with_a_message_not_an_error(lead_client, agreement):
    # given / when
    with at(NOW):
        response = lead_client.get(
            reverse("metrics:dashboard"), {"period": "forever", "source": "tv", "from": "x", "membership_type": "gold"}
        )
    # then
    assert response.status_code == 200
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Unknown period" in text and "Unknown source" in text and "Unknown membership type" in text


def test_htmx_filter_swaps_only_the_body(lead_client, agreement):
    # given / when
    with at(NOW):
        response = lead_client.get(
            reverse("metrics:dashboard"),
            {"period": "last_90"},
            headers={"HX-Request": "true", "HX-Target": "dashboard-body"},
        )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="funnel"' in html and '<form class="filters' not in html and "<html" not in html


def test_every_dashboard_table_exports_as_csv(lead_client, users, agreement):
    # given
    build_march(users)
    with at(datetime(2025, 4, 5, 12, tzinfo=UTC)):
        tables = lead_client.get(reverse("metrics:dashboard"), {"period": "last_month"}).context["d"].tables
        for key, table in tables.items():
            # when
            response = lead_client.get(reverse("metrics:export", args=[key]), {"period": "last_month"})
            # then a streamed CSV whose header is the table's columns and one line per row
            assert response.status_code == 200, key
            assert response.streaming and response["Content-Type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
            assert rows[0] == [c.label for c in table.columns]
            assert len(rows) == len(table.rows) + 1


def test_funnel_csv_carries_the_numbers(lead_client, users, agreement):
    # given
    build_march(users)
    # when
    with at(datetime(2025, 4, 5, 12, tzinfo=UTC)):
        response = lead_client.get(reverse("metrics:export", args=["funnel"]), {"period": "last_month"})
    # then
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["Stage"], r["Entered"]) for r in rows][:4] == [
        ("Prospect", "6"),
        ("MQL", "6"),
        ("SQL", "3"),
        ("Member", "6"),
    ]
    assert rows[2]["Conversion from previous stage"] == "50.0"  # 3 SQLs / 6 MQLs
    assert response["Content-Disposition"] == 'attachment; filename="funnel_20250301-20250331.csv"'


def test_unknown_export_is_404(lead_client, agreement):
    assert lead_client.get(reverse("metrics:export", args=["salaries"])).status_code == 404


def test_scorecards_page_shows_each_teams_weighted_score(lead_client, users, agreement, teams):
    # given Marketing's shared goal on acceptance (75 % in March against 80 %)
    build_march(users)
    SharedGoal.objects.create(
        agreement=agreement, team=teams["marketing"], metric=GoalMetric.MQL_ACCEPTANCE_RATE, target=80, weight=100
    )
    # when
    with at(datetime(2025, 4, 5, 12, tzinfo=UTC)):
        response = lead_client.get(reverse("metrics:scorecards"), {"period": "last_month"})
    # then
    [card] = response.context["cards"]
    assert str(card.score) == "93.8"
    assert b"Marketing" in response.content and b"<svg" in response.content


def test_digest_preview_renders_the_email(lead_client, users, agreement):
    # given / when
    with at(NOW):
        html = lead_client.get(reverse("metrics:digest"), {"team": "outreach"})
        text = lead_client.get(reverse("metrics:digest"), {"team": "outreach", "format": "text"})
    # then
    assert html.status_code == 200 and b"Weekly SLA digest" in html.content
    assert text["Content-Type"].startswith("text/plain") and b"THE FUNNEL LAST WEEK" in text.content


def test_admins_edit_shared_goal_weights_in_django_admin(client, users, agreement, teams):
    # given
    client.force_login(users["admin"])
    # when
    response = client.post(
        reverse("admin:metrics_sharedgoal_add"),
        {
            "agreement": agreement.pk,
            "team": teams["marketing"].pk,
            "metric": GoalMetric.MQL_ACCEPTANCE_RATE,
            "comparator": "gte",
            "target": "70",
            "weight": "20",
            "frequency": "monthly",
            "description": "Quality of what we hand over",
        },
    )
    listing = client.get(reverse("admin:metrics_sharedgoal_changelist"))
    # then
    assert response.status_code == 302
    assert SharedGoal.objects.get().weight == 20
    assert b"20 % (should be 100 %)" in listing.content
