"""Member Success's screens and Outreach's conversion: onboarding queue and checklist, engagement 30/60/90,
at-risk members with one-click flags, renewals and churn; each refusal changes nothing, each page is pinned
to a fixed number of queries."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from leads.models import LeadState
from onboarding.models import (
    EngagementActivity,
    Membership,
    MembershipEvent,
    MembershipFlag,
    MemberState,
    OnboardingTask,
)
from onboarding.services import engagement_record, membership_flag
from sla.models import Clock, ClockState, Commitment
from tests.work_screens import member, sql

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "work"}
T0 = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)


def state_of(m: Membership) -> tuple:
    m = Membership.objects.get(pk=m.pk)
    return (
        m.state,
        m.owner_id,
        MembershipEvent.objects.filter(membership=m).count(),
        OnboardingTask.objects.filter(membership=m, done_at__isnull=False).count(),
        MembershipFlag.objects.filter(membership=m).count(),
    )


# --- Outreach converts an SQL ---------------------------------------------------------------------------------------


def test_convert_captures_the_contract_and_hands_to_member_success(client, users, agreement):
    # given
    lead = sql(users, attempts=1)
    client.force_login(users["rep"])
    data = {
        "membership_type": "corporate",
        "contract_value": "2400.00",
        "term_start": "2026-02-01",
        "term_end": "2027-01-31",
        "owner": users["success"].pk,
        "notes": "Wants the export working group",
    }
    # when
    response = client.post(reverse("onboarding:convert", args=[lead.pk]), data, follow=True)
    # then
    m = Membership.objects.get(lead=lead)
    assert (m.membership_type, str(m.contract_value), m.owner, m.state) == (
        "corporate",
        "2400.00",
        users["success"],
        MemberState.SIGNED,
    )
    assert m.handoff.context["notes"] == "Wants the export working group"
    assert "signed as a corporate member" in response.content.decode()
    lead.refresh_from_db()
    assert lead.state == LeadState.CONVERTED
    assert Clock.objects.filter(subject_id=m.pk, commitment=Commitment.WELCOME, state=ClockState.RUNNING).exists()


def test_convert_with_bad_dates_keeps_the_input_and_says_why(client, users, agreement):
    lead = sql(users)
    client.force_login(users["rep"])
    response = client.post(
        reverse("onboarding:convert", args=[lead.pk]),
        {
            "membership_type": "patron",
            "contract_value": "12,00",
            "term_start": "2026-05-01",
            "term_end": "2026-04-01",
            "notes": "typed notes",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "The term must end after it starts." in page and "Enter an amount" in page
    assert "typed notes" in page and 'value="2026-05-01"' in page and 'value="patron" selected' in page
    assert not Membership.objects.exists()
    assert Membership.objects.count() == 0 and lead.state == LeadState.SQL


def test_only_outreach_converts(client, users, agreement):
    lead = sql(users)
    client.force_login(users["marketer"])
    response = client.post(
        reverse("onboarding:convert", args=[lead.pk]),
        {"membership_type": "corporate", "contract_value": "1", "term_start": "2026-01-01", "term_end": "2027-01-01"},
    )
    assert response.status_code == 403 and not Membership.objects.exists()


def test_converting_a_lead_that_is_not_an_sql_is_a_message(client, users, agreement):
    m = member(users)
    client.force_login(users["outreach_head"])
    # the lead is converted already, so it is Member Success's: the team check answers first
    response = client.post(
        reverse("onboarding:convert", args=[m.lead_id]),
        {"membership_type": "corporate", "contract_value": "1", "term_start": "2026-01-01", "term_end": "2027-01-01"},
    )
    assert response.status_code == 403
    assert Membership.objects.count() == 1


# --- the onboarding queue and checklist -------------------------------------------------------------------------------


def test_onboarding_queue_shows_members_with_their_clocks_and_checklist(client, users, agreement):
    member(users, organisation="Waiting Org")
    client.force_login(users["success"])
    page = client.get(reverse("onboarding:queue")).content.decode()
    assert "Waiting Org" in page
    assert "Member Success starts onboarding" in page and "Welcome communication sent" in page
    assert "Kick-off call held" in page and "Invited to a first event" in page


def test_ticking_the_welcome_step_from_the_queue_onboards_the_member(client, users, agreement):
    # given
    m = member(users)
    client.force_login(users["success"])
    # when
    response = client.post(
        reverse("onboarding:task_done", args=[m.pk, "welcome"]),
        {"from": "queue"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"member-{m.pk}",
    )
    # then: the member leaves the queue, in place
    body = response.content.decode()
    assert response.status_code == 200 and 'class="gone"' in body and "onboarded" in body
    m.refresh_from_db()
    assert m.state == MemberState.ONBOARDED
    assert Clock.objects.get(subject_id=m.pk, commitment=Commitment.WELCOME).state == ClockState.MET


def test_ticking_a_step_on_the_detail_page_swaps_the_checklist(client, users, agreement):
    m = member(users)
    client.force_login(users["success"])
    response = client.post(reverse("onboarding:task_done", args=[m.pk, "kickoff_call"]), **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="work"') and "1 of 4 done" in body
    assert Membership.objects.get(pk=m.pk).state == MemberState.ONBOARDING


def test_ticking_a_step_twice_is_a_message(client, users, agreement):
    m = member(users)
    client.force_login(users["success"])
    client.post(reverse("onboarding:task_done", args=[m.pk, "kickoff_call"]))
    before = state_of(m)
    response = client.post(reverse("onboarding:task_done", args=[m.pk, "kickoff_call"]), follow=True)
    assert "was already done" in response.content.decode()
    assert state_of(m) == before


def test_outreach_cannot_tick_the_checklist(client, users, agreement):
    m = member(users)
    before = state_of(m)
    client.force_login(users["rep"])
    response = client.post(reverse("onboarding:task_done", args=[m.pk, "welcome"]))
    assert response.status_code == 403
    assert state_of(m) == before


def test_start_onboarding_without_a_step(client, users, agreement):
    m = member(users)
    client.force_login(users["success"])
    client.post(reverse("onboarding:start", args=[m.pk]))
    m.refresh_from_db()
    assert m.state == MemberState.ONBOARDING
    assert Clock.objects.get(subject_id=m.pk, commitment=Commitment.ONBOARDING_START).state == ClockState.MET


def test_onboarding_queue_costs_the_same_with_3_or_30(client, users, agreement, django_assert_num_queries):
    for _ in range(3):
        member(users)
    client.force_login(users["success_lead"])
    url = reverse("onboarding:queue")
    client.get(url)
    with django_assert_num_queries(10):
        client.get(url)
    for _ in range(27):
        member(users)
    with django_assert_num_queries(10):
        response = client.get(url)
    assert response.content.decode().count('<tr id="member-') == 25


def test_member_detail_shows_contract_notes_checklist_and_timeline(client, users, agreement):
    m = member(users)
    client.force_login(users["success"])
    client.post(reverse("onboarding:task_done", args=[m.pk, "welcome"]))
    page = client.get(reverse("onboarding:detail", args=[m.pk])).content.decode()
    for text in (
        "Wants the events programme.",
        "Done: Welcome kit / e-mail sent",
        "Onboarded",
        "Welcome communication sent: met",
        "Signed",
        "the lead's history",
    ):
        assert text in page, text


def test_member_detail_costs_the_same_with_a_short_or_long_history(client, users, agreement, django_assert_num_queries):
    m = member(users)
    client.force_login(users["success"])
    url = reverse("onboarding:detail", args=[m.pk])
    client.get(url)
    with django_assert_num_queries(12):
        client.get(url)
    for _ in range(25):
        engagement_record(membership=m, kind="portal_login")
    membership_flag(membership=m, by=users["success"], kind="upsell")
    with django_assert_num_queries(12):
        client.get(url)


# --- engagement 30/60/90 ----------------------------------------------------------------------------------------------


def test_engagement_counts_points_in_the_first_30_60_90_days(client, users, agreement, time_machine):
    # given: a member signed at T0, active on days 10, 45 and 80
    time_machine.move_to(T0, tick=False)
    m = member(users, organisation="Busy Org")
    for days, kind in ((10, "event"), (45, "webinar"), (80, "committee")):
        engagement_record(membership=m, kind=kind, at=T0 + timedelta(days=days))
    time_machine.move_to(T0 + timedelta(days=100), tick=False)
    client.force_login(users["success"])
    # when
    page = client.get(reverse("onboarding:engagement")).content.decode()
    # then: 15, 15 + 10, 15 + 10 + 20
    row = page[page.index("Busy Org") :]
    assert row.index("<b>15</b>") < row.index("<b>25</b>") < row.index("<b>45</b>")


def test_engagement_page_costs_the_same_with_3_or_30(client, users, agreement, django_assert_num_queries):
    def fill(n):
        for _ in range(n):
            engagement_record(membership=member(users), kind="event")

    fill(3)
    client.force_login(users["success"])
    url = reverse("onboarding:engagement")
    client.get(url)
    with django_assert_num_queries(8):
        client.get(url)
    fill(27)
    with django_assert_num_queries(8):
        client.get(url)


# --- at risk, and flags to the other teams ----------------------------------------------------------------------------


def test_at_risk_lists_quiet_members_of_a_month_or_more(client, users, agreement, time_machine):
    # given
    time_machine.move_to(T0, tick=False)
    member(users, organisation="Quiet Org")
    busy = member(users, organisation="Busy Org")
    engagement_record(membership=busy, kind="committee", at=T0 + timedelta(days=20))
    engagement_record(membership=busy, kind="committee", at=T0 + timedelta(days=21))
    time_machine.move_to(T0 + timedelta(days=35), tick=False)
    member(users, organisation="New Org")
    time_machine.move_to(T0 + timedelta(days=40), tick=False)
    client.force_login(users["success"])
    # when
    page = client.get(reverse("onboarding:at_risk")).content.decode()
    # then
    assert "Quiet Org" in page
    assert "Busy Org" not in page and "New Org" not in page
    assert "Flag to Outreach" in page and "Flag to Marketing" in page


def test_one_click_flag_to_outreach_records_the_flag_and_its_event(client, users, agreement):
    # given
    m = member(users)
    client.force_login(users["success"])
    # when
    response = client.post(
        reverse("onboarding:flag", args=[m.pk]),
        {"kind": "upsell"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"flags-{m.pk}",
    )
    # then
    body = response.content.decode()
    assert response.status_code == 200 and f'id="flags-{m.pk}"' in body
    assert "flagged to Outreach" in body and 'value="upsell"' not in body and 'value="nurture"' in body
    flag = MembershipFlag.objects.get(membership=m)
    assert (flag.kind, flag.to_team, flag.created_by) == ("upsell", "outreach", users["success"])
    assert MembershipEvent.objects.filter(membership=m, kind="flagged").exists()


def test_flagging_twice_is_refused_with_a_message(client, users, agreement):
    m = member(users)
    client.force_login(users["success"])
    client.post(reverse("onboarding:flag", args=[m.pk]), {"kind": "nurture"})
    before = state_of(m)
    response = client.post(
        reverse("onboarding:flag", args=[m.pk]),
        {"kind": "nurture"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"flags-{m.pk}",
    )
    assert response.status_code == 409 and "already flagged" in response.content.decode()
    assert state_of(m) == before


def test_only_member_success_flags_members(client, users, agreement):
    m = member(users)
    before = state_of(m)
    client.force_login(users["marketer"])
    assert client.post(reverse("onboarding:flag", args=[m.pk]), {"kind": "nurture"}).status_code == 403
    assert state_of(m) == before


def test_outreach_sees_its_upsell_flags_and_closes_them(client, users, agreement):
    # given
    m = member(users, organisation="Upsell Org")
    flag = membership_flag(membership=m, by=users["success"], kind="upsell", note="Asked about patron tier")
    membership_flag(membership=member(users, organisation="Nurture Org"), by=users["success"], kind="nurture")
    client.force_login(users["rep"])
    # when
    page = client.get(reverse("onboarding:flags")).content.decode()
    response = client.post(reverse("onboarding:flag_resolve", args=[flag.pk]), {"note": "Call booked"})
    # then
    assert "Upsell Org" in page and "Asked about patron tier" in page and "Nurture Org" not in page
    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by, flag.resolution) == ("done", users["rep"], "Call booked")


def test_marketing_cannot_close_an_upsell_flag(client, users, agreement):
    flag = membership_flag(membership=member(users), by=users["success"], kind="upsell")
    client.force_login(users["marketer"])
    assert client.post(reverse("onboarding:flag_resolve", args=[flag.pk])).status_code == 403
    flag.refresh_from_db()
    assert flag.status == "open"


def test_at_risk_page_costs_the_same_with_3_or_30(client, users, agreement, time_machine, django_assert_num_queries):
    time_machine.move_to(T0, tick=False)

    def fill(n):
        for i in range(n):
            m = member(users)
            if i % 3 == 0:
                membership_flag(membership=m, by=users["success"], kind="nurture")

    fill(3)
    time_machine.move_to(T0 + timedelta(days=40), tick=False)
    client.force_login(users["success"])
    url = reverse("onboarding:at_risk")
    client.get(url)
    with django_assert_num_queries(9):
        client.get(url)
    time_machine.move_to(T0, tick=False)
    fill(27)
    time_machine.move_to(T0 + timedelta(days=40), tick=False)
    with django_assert_num_queries(9):
        response = client.get(url)
    assert "1–25 of 30" in response.content.decode()


def test_flag_list_costs_the_same_with_3_or_30(client, users, agreement, django_assert_num_queries):
    def fill(n):
        for _ in range(n):
            membership_flag(membership=member(users), by=users["success"], kind="upsell")

    fill(3)
    client.force_login(users["rep"])
    url = reverse("onboarding:flags")
    client.get(url)
    with django_assert_num_queries(6):
        client.get(url)
    fill(27)
    with django_assert_num_queries(6):
        client.get(url)


# --- renewals and churn -----------------------------------------------------------------------------------------------


def renewable(users, time_machine) -> Membership:
    """A member whose term ends in 30 days, engaged enough to renew (engagement ≥ 30)."""
    time_machine.move_to(T0, tick=False)
    m = member(users)
    Membership.objects.filter(pk=m.pk).update(term_start=date(2025, 2, 11), term_end=date(2026, 2, 11))
    client_task = OnboardingTask.objects.filter(membership=m)
    assert client_task.count() == 4
    from onboarding.services import onboarding_task_complete

    onboarding_task_complete(membership=m, step="welcome", by=users["success"])
    for _ in range(2):
        engagement_record(membership=m, kind="event")
    return Membership.objects.get(pk=m.pk)


def test_renewal_flow_from_eligible_to_renewed(client, users, agreement, time_machine):
    # given
    m = renewable(users, time_machine)
    client.force_login(users["success"])
    # when
    upcoming = client.get(reverse("onboarding:renewals"), {"scope": "upcoming"}).content.decode()
    client.post(reverse("onboarding:renewal_eligible", args=[m.pk]))
    eligible = client.get(reverse("onboarding:renewals")).content.decode()
    bad = client.post(reverse("onboarding:renew", args=[m.pk]), {"new_term_end": "2025-01-01"})
    client.post(reverse("onboarding:renew", args=[m.pk]), {"new_term_end": "2027-02-11", "contract_value": ""})
    # then
    assert m.organisation in upcoming and "Check eligibility" in upcoming
    assert m.organisation in eligible and "Renewal outreach" in eligible
    assert bad.status_code == 400 and "The new term must end after 2026-02-11." in bad.content.decode()
    m.refresh_from_db()
    assert (m.state, m.term_end, m.renewals) == (MemberState.RENEWED, date(2027, 2, 11), 1)


def test_renewal_eligibility_refused_says_what_is_missing(client, users, agreement, time_machine):
    time_machine.move_to(T0, tick=False)
    m = member(users)
    client.force_login(users["success"])
    client.post(reverse("onboarding:task_done", args=[m.pk, "welcome"]))
    before = state_of(m)
    response = client.post(reverse("onboarding:renewal_eligible", args=[m.pk]), follow=True)
    page = response.content.decode()
    assert "more than 60 days away" in page and "engagement 0 below 30" in page
    assert state_of(m) == before


def test_churn_needs_a_reason_and_records_it(client, users, agreement):
    m = member(users)
    client.force_login(users["success"])
    refused = client.post(reverse("onboarding:churn", args=[m.pk]), {"reason": "other", "note": ""})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert Membership.objects.get(pk=m.pk).state == MemberState.SIGNED
    client.post(reverse("onboarding:churn", args=[m.pk]), {"reason": "price", "note": "Budget cut"})
    m.refresh_from_db()
    assert (m.state, m.churn_reason) == (MemberState.CHURNED, "price")
    filtered = client.get(reverse("onboarding:list"), {"churn_reason": "price"}).content.decode()
    assert m.organisation in filtered and "Price / budget" in filtered


def test_renewals_page_costs_the_same_with_3_or_30(client, users, agreement, time_machine, django_assert_num_queries):
    from onboarding.services import membership_mark_renewal_eligible

    def fill(n):
        for _ in range(n):
            membership_mark_renewal_eligible(membership=renewable(users, time_machine))

    fill(3)
    client.force_login(users["success"])
    url = reverse("onboarding:renewals")
    client.get(url)
    with django_assert_num_queries(9):
        client.get(url)
    fill(27)
    with django_assert_num_queries(9):
        client.get(url)


# --- members list and bulk assign -------------------------------------------------------------------------------------


def test_member_list_costs_the_same_with_3_or_30(client, users, agreement, django_assert_num_queries):
    for _ in range(3):
        member(users)
    client.force_login(users["success_lead"])
    url = reverse("onboarding:list")
    client.get(url)
    with django_assert_num_queries(9):
        client.get(url)
    for _ in range(27):
        member(users)
    with django_assert_num_queries(9):
        client.get(url)


def test_team_lead_bulk_assigns_members(client, users, agreement):
    members = [member(users, owner_key=None) for _ in range(3)]
    client.force_login(users["success_lead"])
    response = client.post(
        reverse("onboarding:assign"), {"owner": users["success"].pk, "ids": [m.pk for m in members]}, follow=True
    )
    assert "3 members assigned to" in response.content.decode()
    assert set(Membership.objects.values_list("owner", flat=True)) == {users["success"].pk}


def test_staff_cannot_bulk_assign_members(client, users, agreement):
    members = [member(users, owner_key=None) for _ in range(2)]
    client.force_login(users["success"])
    response = client.post(reverse("onboarding:assign"), {"owner": users["success"].pk, "ids": [m.pk for m in members]})
    assert response.status_code == 403
    assert set(Membership.objects.values_list("owner", flat=True)) == {None}
    assert not EngagementActivity.objects.exists()
