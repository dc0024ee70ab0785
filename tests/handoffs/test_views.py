"""The hand-off screens: Marketing's MQL queue and hand-off form, Outreach's queue and its one-click actions.

Forbidden actions answer 403 and change nothing; refused ones (paused team, already answered) answer with
the reason; queue pages cost the same number of queries with 3 rows as with 30."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import Team, TeamKind
from handoffs.models import ContactAttempt, Handoff
from leads.models import Lead, LeadEvent, LeadState
from sla.models import Clock, ClockState, Commitment
from tests.factories import make_mql
from tests.work_screens import handed_off, sql

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MONDAY_10 = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)  # London is on UTC in January


def state_of(lead: Lead) -> tuple:
    lead = Lead.objects.get(pk=lead.pk)
    return (
        lead.state,
        lead.owner_id,
        LeadEvent.objects.filter(lead=lead).count(),
        Handoff.objects.filter(lead=lead).values_list("status", flat=True).first(),
        ContactAttempt.objects.filter(lead=lead).count(),
    )


# --- Marketing: the MQL queue -------------------------------------------------------------------------------------


def test_mql_queue_shows_time_left_on_the_24h_clock_nearest_first(client, users, agreement, time_machine):
    # given: two MQLs qualified 20 h and 2 h ago (warning window starts at 18 h)
    time_machine.move_to(MONDAY_10 - timedelta(hours=20), tick=False)
    make_mql(organisation="Older Org", phone="")
    time_machine.move_to(MONDAY_10 - timedelta(hours=2), tick=False)
    make_mql(organisation="Newer Org")
    time_machine.move_to(MONDAY_10, tick=False)
    client.force_login(users["marketer"])
    # when
    page = client.get(reverse("handoffs:mql_queue")).content.decode()
    # then
    assert page.index("Older Org") < page.index("Newer Org")
    assert "4h 00m left" in page and "22h 00m left" in page
    assert 'class="row-warn"' in page
    assert "no phone" in page  # the required field the older lead lacks


def test_mql_queue_turns_red_when_the_deadline_passes(client, users, agreement, time_machine):
    time_machine.move_to(MONDAY_10 - timedelta(hours=25), tick=False)
    make_mql(organisation="Late Org")
    time_machine.move_to(MONDAY_10, tick=False)
    client.force_login(users["marketer"])
    page = client.get(reverse("handoffs:mql_queue")).content.decode()
    assert "1h 00m overdue" in page and 'class="row-bad"' in page


def test_mql_queue_refresh_returns_only_the_rows(client, users, agreement):
    make_mql(organisation="Some Org")
    client.force_login(users["marketer"])
    response = client.get(reverse("handoffs:mql_queue"), HTTP_HX_TARGET="queue-rows", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<tbody id="queue-rows"') and "Some Org" in body
    assert "<html" not in body


def test_mql_queue_costs_the_same_with_3_or_30_mqls(client, users, agreement, django_assert_num_queries):
    for _ in range(3):
        make_mql()
    client.force_login(users["marketing_lead"])
    url = reverse("handoffs:mql_queue")
    client.get(url)
    with django_assert_num_queries(10):
        client.get(url)
    for _ in range(27):
        make_mql()
    with django_assert_num_queries(10):
        response = client.get(url)
    assert response.content.decode().count("left</span>") == 25


# --- Marketing: the hand-off form -----------------------------------------------------------------------------------


def test_handoff_form_shows_the_missing_required_fields(client, users, agreement):
    lead = make_mql(phone="", interest="")
    client.force_login(users["marketer"])
    page = client.get(reverse("handoffs:new", args=[lead.pk])).content.decode()
    assert "Required data missing (2 of 6)" in page
    assert 'name="phone"' in page and 'name="interest"' in page and 'name="email"' not in page


def test_handing_off_with_gaps_needs_a_fix_or_a_confirmation(client, users, agreement):
    # given
    lead = make_mql(phone="", interest="")
    before = state_of(lead)
    client.force_login(users["marketer"])
    # when
    response = client.post(reverse("handoffs:new", args=[lead.pk]), {"note": "typed note", "phone": "+44 20 1"})
    # then: refused next to the checkbox, typed values kept, nothing changed
    assert response.status_code == 400
    page = response.content.decode()
    assert "or tick this box to hand off with incomplete data" in page
    assert 'value="+44 20 1"' in page and "typed note" in page
    assert state_of(lead) == before
    assert Lead.objects.get(pk=lead.pk).phone == ""


def test_filling_the_missing_fields_in_the_form_makes_the_handoff_complete(client, users, agreement):
    # given
    lead = make_mql(phone="")
    client.force_login(users["marketer"])
    # when
    response = client.post(
        reverse("handoffs:new", args=[lead.pk]),
        {"phone": "+44 20 7946 0000", "to_user": users["rep"].pk, "note": "Hot"},
    )
    # then
    assert response.status_code == 302
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.is_complete and handoff.to_user == users["rep"] and handoff.note == "Hot"
    lead.refresh_from_db()
    assert (lead.state, lead.phone, lead.owner) == (LeadState.HANDED_OFF, "+44 20 7946 0000", users["rep"])
    assert Clock.objects.get(subject_id=lead.pk, commitment=Commitment.FIRST_RESPONSE).state == ClockState.RUNNING


def test_confirmed_incomplete_handoff_is_recorded_as_incomplete(client, users, agreement):
    lead = make_mql(phone="")
    client.force_login(users["marketer"])
    client.post(reverse("handoffs:new", args=[lead.pk]), {"confirm_incomplete": "on"})
    handoff = Handoff.objects.get(lead=lead)
    assert (handoff.is_complete, handoff.missing_fields) == (False, ["phone"])


def test_handoff_is_refused_while_marketing_is_paused_and_nothing_changes(client, users, agreement):
    # given
    Team.objects.filter(kind=TeamKind.MARKETING).update(
        handoffs_paused=True, handoffs_paused_reason="Data quality below 90 % in November."
    )
    lead = make_mql(phone="")
    before = state_of(lead)
    client.force_login(users["marketer"])
    # when
    page_before = client.get(reverse("handoffs:new", args=[lead.pk])).content.decode()
    response = client.post(reverse("handoffs:new", args=[lead.pk]), {"phone": "+44 1", "confirm_incomplete": "on"})
    # then
    assert "Data quality below 90 % in November." in page_before
    assert response.status_code == 409
    assert "Data quality below 90 % in November." in response.content.decode()
    assert state_of(lead) == before
    assert Lead.objects.get(pk=lead.pk).phone == ""  # the field fix was rolled back with the refusal


def test_outreach_cannot_hand_off_marketings_leads(client, users, agreement):
    lead = make_mql()
    before = state_of(lead)
    client.force_login(users["rep"])
    response = client.post(reverse("handoffs:new", args=[lead.pk]), {})
    assert response.status_code == 403
    assert state_of(lead) == before


# --- Outreach: the queue ---------------------------------------------------------------------------------------------


def test_queue_is_ordered_by_time_left_with_warning_colours(client, users, agreement, time_machine):
    # given: first response is 4 working hours, warning at 75 %
    time_machine.move_to(MONDAY_10, tick=False)
    handed_off(users, to_user=users["rep"], organisation="Early Org")
    time_machine.move_to(MONDAY_10 + timedelta(hours=2), tick=False)
    handed_off(users, to_user=users["rep"], organisation="Later Org")
    time_machine.move_to(MONDAY_10 + timedelta(hours=3, minutes=30), tick=False)
    client.force_login(users["rep"])
    # when
    page = client.get(reverse("handoffs:queue")).content.decode()
    # then
    assert page.index("Early Org") < page.index("Later Org")
    assert "30m left" in page and "2h 30m left" in page
    assert 'class="row-warn"' in page and "Outreach first response" in page


def test_staff_see_their_own_and_unassigned_work_by_default(client, users, agreement):
    handed_off(users, to_user=users["rep"], organisation="Mine Org")
    handed_off(users, to_user=None, organisation="Unassigned Org")
    handed_off(users, to_user=users["rep2"], organisation="Colleague Org")
    client.force_login(users["rep"])
    page = client.get(reverse("handoffs:queue")).content.decode()
    whole_team = client.get(reverse("handoffs:queue"), {"owner": ""}).content.decode()
    assert "Mine Org" in page and "Unassigned Org" in page and "Colleague Org" not in page
    assert "Colleague Org" in whole_team


def test_accept_in_one_click_answers_htmx_with_the_updated_row(client, users, agreement):
    # given
    lead, handoff = handed_off(users, to_user=users["rep"])
    client.force_login(users["rep"])
    # when
    response = client.post(reverse("handoffs:accept", args=[handoff.pk]), **HMTX_POST)
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="lead-{lead.pk}"' in body and "In contact" not in body and ">SQL<" in body
    assert 'hx-swap-oob="true"' in body and "accepted as SQL" in body
    assert 'name="channel"' in body  # the row now offers the attempt form
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.ACCEPTED and handoff.decided_by == users["rep"]


HMTX_POST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "lead-row"}


def test_accept_without_javascript_redirects_back(client, users, agreement):
    lead, handoff = handed_off(users, to_user=users["rep"])
    client.force_login(users["rep"])
    response = client.post(reverse("handoffs:accept", args=[handoff.pk]), {"next": "/handoffs/queue/?q=x"})
    assert response.status_code == 302 and response["Location"] == "/handoffs/queue/?q=x"


def test_marketing_cannot_accept_and_nothing_changes(client, users, agreement):
    lead, handoff = handed_off(users, to_user=users["rep"])
    before = state_of(lead)
    client.force_login(users["marketer"])
    plain = client.post(reverse("handoffs:accept", args=[handoff.pk]))
    htmx = client.post(reverse("handoffs:accept", args=[handoff.pk]), **HMTX_POST)
    assert plain.status_code == 403 and htmx.status_code == 403
    assert htmx["HX-Reswap"] == "none" and "Only Outreach accepts hand-offs." in htmx.content.decode()
    assert state_of(lead) == before


def test_accepting_twice_is_a_clear_message(client, users, agreement):
    lead, handoff = handed_off(users, to_user=users["rep"])
    client.force_login(users["rep"])
    client.post(reverse("handoffs:accept", args=[handoff.pk]))
    before = state_of(lead)
    response = client.post(reverse("handoffs:accept", args=[handoff.pk]), **HMTX_POST)
    assert response.status_code == 409 and "already been answered" in response.content.decode()
    assert state_of(lead) == before


def test_reject_needs_a_reason_code(client, users, agreement):
    # given
    lead, handoff = handed_off(users, to_user=users["rep"])
    before = state_of(lead)
    client.force_login(users["rep"])
    # when
    response = client.post(reverse("handoffs:reject", args=[handoff.pk]), {"note": "kept note"}, **HMTX_POST)
    # then: the row comes back with the form open and the message next to the field
    body = response.content.decode()
    assert response.status_code == 400
    assert "<details" in body and " open>" in body
    assert "Choose why the lead goes back to Marketing." in body and "kept note" in body
    assert state_of(lead) == before


def test_reject_with_a_reason_sends_the_lead_back_to_marketing(client, users, agreement):
    lead, handoff = handed_off(users, to_user=users["rep"])
    client.force_login(users["rep"])
    response = client.post(
        reverse("handoffs:reject", args=[handoff.pk]),
        {"reason": "data_incomplete", "note": "No phone number"},
        **HMTX_POST,
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'class="gone"' in body and "rejected to marketing" in body
    lead.refresh_from_db()
    assert (lead.state, lead.last_reason, lead.owner) == (LeadState.REJECTED, "data_incomplete", users["marketer"])


def test_reject_page_works_without_javascript(client, users, agreement):
    lead, handoff = handed_off(users, to_user=users["rep"])
    client.force_login(users["rep"])
    form = client.get(reverse("handoffs:reject", args=[handoff.pk]))
    bad = client.post(reverse("handoffs:reject", args=[handoff.pk]), {"reason": "other"})
    assert form.status_code == 200 and '<label for="id_reason">' in form.content.decode()
    assert bad.status_code == 400 and "Say why, when the reason is &#x27;Other&#x27;." in bad.content.decode()


def test_log_a_contact_attempt_in_one_click(client, users, agreement):
    # given: the row's form comes preset to phone / no answer
    lead = sql(users)
    client.force_login(users["rep"])
    page = client.get(reverse("handoffs:queue")).content.decode()
    assert 'value="phone" selected' in page and 'value="no_answer" selected' in page
    # when
    response = client.post(
        reverse("handoffs:attempt", args=[lead.pk]),
        {"channel": "phone", "outcome": "no_answer", "note": ""},
        **HMTX_POST,
    )
    # then
    body = response.content.decode()
    assert response.status_code == 200 and "<b>1</b>" in body and "In contact" in body
    attempt = ContactAttempt.objects.get(lead=lead)
    assert (attempt.by, attempt.channel, attempt.outcome) == (users["rep"], "phone", "no_answer")
    clock = Clock.objects.get(subject_id=lead.pk, commitment=Commitment.FOLLOW_UP)
    assert clock.progress_count == 1


def test_attempt_with_bad_input_is_explained_in_the_row(client, users, agreement):
    lead = sql(users)
    before = state_of(lead)
    client.force_login(users["rep"])
    response = client.post(
        reverse("handoffs:attempt", args=[lead.pk]),
        {"channel": "pigeon", "outcome": "connected", "note": "typed"},
        **HMTX_POST,
    )
    body = response.content.decode()
    assert response.status_code == 400 and "Select a valid choice" in body and 'value="typed"' in body
    assert state_of(lead) == before


def test_attempt_before_accepting_is_refused_with_the_reason(client, users, agreement):
    lead, _ = handed_off(users, to_user=users["rep"])
    before = state_of(lead)
    client.force_login(users["rep"])
    response = client.post(reverse("handoffs:attempt", args=[lead.pk]), {"channel": "phone", "outcome": "sent"})
    assert response.status_code == 409
    assert "contact attempts are logged on accepted SQLs" in response.content.decode()
    assert state_of(lead) == before


def test_member_success_cannot_log_attempts(client, users, agreement):
    lead = sql(users)
    before = state_of(lead)
    client.force_login(users["success"])
    response = client.post(reverse("handoffs:attempt", args=[lead.pk]), {"channel": "phone", "outcome": "sent"})
    assert response.status_code == 403
    assert state_of(lead) == before


def test_outreach_queue_costs_the_same_with_3_or_30_leads(client, users, agreement, django_assert_num_queries):
    def fill(n):
        for i in range(n):
            if i % 2:
                handed_off(users, to_user=users["rep"])
            else:
                sql(users, attempts=1)

    fill(3)
    client.force_login(users["outreach_lead"])
    url = reverse("handoffs:queue")
    client.get(url)
    with django_assert_num_queries(10):
        client.get(url)
    fill(27)
    with django_assert_num_queries(10):
        response = client.get(url)
    assert response.content.decode().count('<tr id="lead-') == 25


# --- the hand-off log -------------------------------------------------------------------------------------------------


def test_handoff_log_filters_by_status_and_completeness(client, users, agreement):
    handed_off(users, organisation="Complete Org")
    handed_off(users, organisation="Gappy Org", phone="")
    client.force_login(users["outreach_lead"])
    page = client.get(reverse("handoffs:list"), {"is_complete": "false"}).content.decode()
    assert "Gappy Org" in page and "Complete Org" not in page and "missing phone" in page


def test_handoff_log_costs_the_same_with_3_or_30(client, users, agreement, django_assert_num_queries):
    for _ in range(3):
        handed_off(users)
    client.force_login(users["outreach_head"])
    url = reverse("handoffs:list")
    client.get(url)
    with django_assert_num_queries(6):
        client.get(url)
    for _ in range(27):
        handed_off(users)
    with django_assert_num_queries(6):
        client.get(url)
