"""Signing in to the team's queue, the team switcher, the inbox, and the escalation and plan screens.

Acting on an escalation or a plan is for its owner, the owning team's lead and department heads; anybody
else gets a 403 and nothing changes."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team, TeamKind
from sla.escalations import escalation_raise, plan_open
from sla.models import Clock, Commitment, Escalation, EscalationKind, Notification, Plan
from tests.work_screens import handed_off

pytestmark = pytest.mark.django_db


def breach(users, agreement, *, owner_key="rep", n=0) -> Escalation:
    """A missed first-response deadline on a lead handed to `owner_key`, escalated up the ladder."""
    lead, _ = handed_off(users, to_user=users[owner_key])
    clock = Clock.objects.get(subject_id=lead.pk, commitment=Commitment.FIRST_RESPONSE)
    return escalation_raise(
        key=f"test-breach-{lead.pk}-{n}",
        kind=EscalationKind.CLOCK_BREACH,
        agreement=agreement,
        team=TeamKind.OUTREACH,
        title=f"Missed: first response to {lead.full_name}",
        owner=users[owner_key],
        clock=clock,
    )


def remediation(users, agreement, teams, n=0) -> Plan:
    Team.objects.filter(kind=TeamKind.MARKETING).update(handoffs_paused=True, handoffs_paused_reason="Data gaps")
    escalation = escalation_raise(
        key=f"test-integrity-{n}",
        kind=EscalationKind.DATA_INTEGRITY,
        agreement=agreement,
        team=TeamKind.MARKETING,
        title="Hand-off data quality below threshold",
        detail="14 % of November's hand-offs missed required fields.",
        owner=users["marketing_lead"],
    )
    return plan_open(
        kind=Plan.Kind.REMEDIATION,
        team=teams[TeamKind.MARKETING],
        agreement=agreement,
        escalation=escalation,
        title="Fix hand-off data",
        at=timezone.now(),
        business_days=10,
    )


# --- sign-in and the header -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "queue"),
    [("marketer", "handoffs:mql_queue"), ("rep", "handoffs:queue"), ("success", "onboarding:queue")],
)
def test_signing_in_lands_on_the_teams_queue(client, users, agreement, username, queue):
    response = client.post(reverse("login"), {"username": username, "password": "pass12345"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse(queue)
    assert response.status_code == 200


def test_people_without_a_team_queue_land_on_the_overview(client, users, agreement):
    response = client.post(reverse("login"), {"username": "admin", "password": "pass12345"}, follow=True)
    assert response.status_code == 200 and "Commitments" in response.content.decode()


def test_a_wrong_password_is_explained(client, users, agreement):
    response = client.post(reverse("login"), {"username": "rep", "password": "nope"})
    assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()


def test_team_leads_switch_team_view_and_land_there(client, users, agreement):
    # given
    client.force_login(users["outreach_lead"])
    # when
    response = client.post(reverse("workspace_switch"), {"workspace": "member_success"})
    home = client.get(reverse("home"))
    # then
    assert response["Location"] == reverse("onboarding:queue")
    assert home["Location"] == reverse("onboarding:queue")
    assert '<option value="member_success" selected>' in client.get(home["Location"]).content.decode()


def test_staff_have_no_team_switcher(client, users, agreement):
    client.force_login(users["rep"])
    assert 'name="workspace"' not in client.get(reverse("handoffs:queue")).content.decode()
    response = client.post(reverse("workspace_switch"), {"workspace": "marketing"})
    assert response.status_code == 403
    assert client.get(reverse("home"))["Location"] == reverse("handoffs:queue")


def test_header_shows_the_unread_count(client, users, agreement):
    # given: the agreement's activation notice, then a breach
    breach(users, agreement)
    unread = Notification.objects.filter(recipient=users["rep"], read_at__isnull=True).count()
    client.force_login(users["rep"])
    # when
    page = client.get(reverse("handoffs:queue")).content.decode()
    # then
    assert unread == 2
    assert 'id="inbox-badge" class="badge"><span class="sr-only">, </span>2<span class="sr-only"> unread' in page


def test_overview_costs_a_fixed_number_of_queries(client, users, agreement, django_assert_num_queries):
    client.force_login(users["admin"])
    client.get(reverse("overview"))
    with django_assert_num_queries(9):
        client.get(reverse("overview"))


# --- escalations ------------------------------------------------------------------------------------------------------


def test_escalation_list_shows_owner_status_and_a_link_to_the_lead(client, users, agreement):
    escalation = breach(users, agreement)
    client.force_login(users["outreach_lead"])
    page = client.get(reverse("sla:escalations")).content.decode()
    assert escalation.title in page and "Open" in page
    assert reverse("leads:detail", args=[escalation.clock.subject_id]) in page


def test_escalations_of_another_team_are_not_listed_for_staff(client, users, agreement):
    escalation = breach(users, agreement)
    client.force_login(users["marketer"])
    assert escalation.title not in client.get(reverse("sla:escalations")).content.decode()
    assert client.get(reverse("sla:escalation_detail", args=[escalation.pk])).status_code == 403


def test_owner_acknowledges_then_resolves(client, users, agreement):
    # given
    escalation = breach(users, agreement)
    client.force_login(users["rep"])
    # when
    client.post(reverse("sla:escalation_acknowledge", args=[escalation.pk]))
    acknowledged = Escalation.objects.get(pk=escalation.pk).status
    client.post(reverse("sla:escalation_resolve", args=[escalation.pk]), {"note": "Called back at 15:00"})
    # then
    escalation.refresh_from_db()
    assert acknowledged == Escalation.Status.ACKNOWLEDGED
    assert escalation.status == Escalation.Status.RESOLVED and "Called back at 15:00" in escalation.detail


def test_a_colleague_cannot_acknowledge_someone_elses_escalation(client, users, agreement):
    escalation = breach(users, agreement)
    client.force_login(users["rep2"])
    response = client.post(reverse("sla:escalation_acknowledge", args=[escalation.pk]))
    assert response.status_code == 403
    assert Escalation.objects.get(pk=escalation.pk).status == Escalation.Status.OPEN


def test_acknowledging_twice_is_a_message(client, users, agreement):
    escalation = breach(users, agreement)
    client.force_login(users["outreach_head"])
    client.post(reverse("sla:escalation_acknowledge", args=[escalation.pk]))
    response = client.post(reverse("sla:escalation_acknowledge", args=[escalation.pk]), follow=True)
    assert "Cannot move escalation" in response.content.decode()


def test_escalation_detail_says_who_was_told_and_why(client, users, agreement):
    escalation = breach(users, agreement)
    client.force_login(users["outreach_head"])
    page = client.get(reverse("sla:escalation_detail", args=[escalation.pk])).content.decode()
    assert "Outreach first response" in page and "you own this item" in page
    assert "you lead the team that missed the deadline" in page


def test_escalation_list_costs_the_same_with_3_or_30(client, users, agreement, django_assert_num_queries):
    for n in range(3):
        breach(users, agreement, n=n)
    client.force_login(users["outreach_head"])
    url = reverse("sla:escalations")
    client.get(url)
    with django_assert_num_queries(6):
        client.get(url)
    for n in range(27):
        breach(users, agreement, n=100 + n)
    with django_assert_num_queries(6):
        client.get(url)


def test_escalation_detail_costs_a_fixed_number_of_queries(client, users, agreement, django_assert_num_queries):
    escalation = breach(users, agreement)
    client.force_login(users["outreach_head"])
    url = reverse("sla:escalation_detail", args=[escalation.pk])
    client.get(url)
    with django_assert_num_queries(8):
        client.get(url)


# --- plans ------------------------------------------------------------------------------------------------------------


def test_filing_a_plan_needs_root_cause_and_actions(client, users, agreement, teams):
    plan = remediation(users, agreement, teams)
    client.force_login(users["marketing_lead"])
    response = client.post(reverse("sla:plan_submit", args=[plan.pk]), {"root_cause": "  ", "actions": "typed"})
    page = response.content.decode()
    assert response.status_code == 400 and "This field is required." in page and ">\ntyped</textarea>" in page
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.OPEN


def test_team_lead_files_and_head_accepts_which_lifts_the_pause(client, users, agreement, teams):
    # given
    plan = remediation(users, agreement, teams)
    client.force_login(users["marketing_lead"])
    # when
    client.post(
        reverse("sla:plan_submit", args=[plan.pk]),
        {"root_cause": "Web form lost phone field", "actions": "Restore the field\nBackfill from CRM"},
    )
    refused = client.post(reverse("sla:plan_accept", args=[plan.pk]))
    client.force_login(users["marketing_head"])
    accepted = client.post(reverse("sla:plan_accept", args=[plan.pk]), follow=True)
    # then
    plan.refresh_from_db()
    assert refused.status_code == 403
    assert plan.status == Plan.Status.ACCEPTED and plan.accepted_by == users["marketing_head"]
    assert "hand-offs are open again" in accepted.content.decode()
    assert not Team.objects.get(kind=TeamKind.MARKETING).handoffs_paused
    assert Escalation.objects.get(pk=plan.escalation_id).status == Escalation.Status.RESOLVED


def test_another_teams_staff_cannot_file_a_plan(client, users, agreement, teams):
    plan = remediation(users, agreement, teams)
    client.force_login(users["rep"])
    response = client.post(reverse("sla:plan_submit", args=[plan.pk]), {"root_cause": "x", "actions": "y"})
    assert response.status_code == 403
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.OPEN


def test_accepting_an_unfiled_plan_is_a_message(client, users, agreement, teams):
    plan = remediation(users, agreement, teams)
    client.force_login(users["marketing_head"])
    response = client.post(reverse("sla:plan_accept", args=[plan.pk]), follow=True)
    assert "only a submitted plan can be accepted" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.OPEN


def test_plan_detail_shows_the_deadline_and_the_form(client, users, agreement, teams):
    plan = remediation(users, agreement, teams)
    client.force_login(users["marketing_lead"])
    page = client.get(reverse("sla:plan_detail", args=[plan.pk])).content.decode()
    assert "File the plan" in page and "left" in page and "Hand-off data quality below threshold" in page


def test_plan_detail_costs_a_fixed_number_of_queries(client, users, agreement, teams, django_assert_num_queries):
    plan = remediation(users, agreement, teams)
    client.force_login(users["marketing_lead"])
    url = reverse("sla:plan_detail", args=[plan.pk])
    client.get(url)
    with django_assert_num_queries(7):
        client.get(url)


def test_plan_list_costs_the_same_with_3_or_30(client, users, agreement, teams, django_assert_num_queries):
    for n in range(3):
        remediation(users, agreement, teams, n=n)
    client.force_login(users["marketing_head"])
    url = reverse("sla:plans")
    client.get(url)
    with django_assert_num_queries(7):
        client.get(url)
    for n in range(27):
        remediation(users, agreement, teams, n=100 + n)
    with django_assert_num_queries(7):
        page = client.get(url).content.decode()
    assert page.count("Fix hand-off data") == 25


# --- the inbox --------------------------------------------------------------------------------------------------------


def test_mark_read_with_htmx_updates_the_item_and_the_badge(client, users, agreement):
    # given
    escalation = breach(users, agreement)
    Notification.objects.filter(escalation__isnull=True).update(read_at=timezone.now())
    note = Notification.objects.get(recipient=users["rep"], escalation=escalation)
    client.force_login(users["rep"])
    # when
    response = client.post(
        reverse("sla:notification_read", args=[note.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"note-{note.pk}"
    )
    # then
    body = response.content.decode()
    assert f'<li id="note-{note.pk}" class="note-item">' in body
    assert 'id="inbox-badge" class="badge zero" hx-swap-oob="true"' in body
    note.refresh_from_db()
    assert note.read_at is not None


def test_nobody_reads_someone_elses_notification(client, users, agreement):
    note = Notification.objects.get(recipient=users["rep"], escalation=breach(users, agreement))
    client.force_login(users["outreach_lead"])
    assert client.post(reverse("sla:notification_read", args=[note.pk])).status_code == 403
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_all_read_and_filter_unread(client, users, agreement):
    Notification.objects.update(read_at=timezone.now())
    breach(users, agreement, n=1)
    breach(users, agreement, n=2)
    client.force_login(users["rep"])
    unread_before = client.get(reverse("sla:inbox"), {"show": "unread"}).content.decode()
    client.post(reverse("sla:notifications_read_all"))
    unread_after = client.get(reverse("sla:inbox"), {"show": "unread"}).content.decode()
    assert unread_before.count('class="note-item unread"') == 2
    assert 'class="note-item' not in unread_after
    assert not Notification.objects.filter(recipient=users["rep"], read_at__isnull=True).exists()


def test_inbox_costs_the_same_with_3_or_30(client, users, agreement, django_assert_num_queries):
    for n in range(3):
        breach(users, agreement, n=n)
    client.force_login(users["rep"])
    url = reverse("sla:inbox")
    client.get(url)
    with django_assert_num_queries(6):
        client.get(url)
    for n in range(27):
        breach(users, agreement, n=100 + n)
    with django_assert_num_queries(6):
        client.get(url)
