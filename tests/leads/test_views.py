"""Marketing's screens and the lead detail page: what they show, what they refuse, and what they cost.

Every forbidden action answers 403 and leaves the lead, its events and clocks as they were; every page is
pinned to a fixed number of queries with a few rows and with many."""

import pytest
from django.urls import reverse

from handoffs.services import handoff_reject
from leads.models import Lead, LeadEvent, LeadEventKind, LeadState, TouchpointKind
from leads.services import touchpoint_record
from sla.models import Clock
from tests.factories import LeadFactory, make_mql
from tests.work_screens import handed_off, sql

pytestmark = pytest.mark.django_db


def snapshot(lead: Lead) -> tuple:
    lead = Lead.objects.get(pk=lead.pk)
    return (
        lead.state,
        lead.owner_id,
        lead.phone,
        LeadEvent.objects.filter(lead=lead).count(),
        Clock.objects.filter(subject_id=lead.pk).count(),
    )


# --- the lists ---------------------------------------------------------------------------------------------------


def test_lead_list_shows_score_fit_touchpoints_and_what_a_prospect_still_needs(client, users, agreement):
    # given
    mql = make_mql(owner=users["marketer"], first_name="Ada", organisation="Lovelace Engines")
    prospect = LeadFactory(first_name="Bob", organisation="Babbage Ltd")
    client.force_login(users["marketer"])
    # when
    response = client.get(reverse("leads:list"))
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "Lovelace Engines" in page and "Babbage Ltd" in page
    assert f">{mql.score}<" in page and "✓ fits" in page
    assert "0 of 2 touchpoints" in page  # the prospect's gap to MQL, from the agreement in force
    assert prospect.state == LeadState.PROSPECT


def test_lead_list_filters_and_searches(client, users, agreement):
    # given
    make_mql(first_name="Ada", organisation="Lovelace Engines")
    LeadFactory(first_name="Bob", organisation="Babbage Ltd")
    client.force_login(users["marketer"])
    # when
    by_state = client.get(reverse("leads:list"), {"state": "mql"}).content.decode()
    by_text = client.get(reverse("leads:list"), {"q": "babbage"}).content.decode()
    # then
    assert "Lovelace Engines" in by_state and "Babbage Ltd" not in by_state
    assert "Babbage Ltd" in by_text and "Lovelace Engines" not in by_text


def test_a_bad_filter_value_is_explained_not_a_failure(client, users, agreement):
    # given
    LeadFactory(organisation="Babbage Ltd")
    client.force_login(users["marketer"])
    # when
    response = client.get(reverse("leads:list"), {"state": "nonsense", "min_score": "lots"})
    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in page and "Enter a number" in page
    assert "Babbage Ltd" in page  # the bad filters are ignored, the list is still there


def test_lead_list_paginates(client, users, agreement):
    # given
    for i in range(27):
        LeadFactory(organisation=f"Org {i:02d}")
    client.force_login(users["marketer"])
    # when
    first = client.get(reverse("leads:list")).content.decode()
    second = client.get(reverse("leads:list"), {"page": 2}).content.decode()
    # then
    assert "1–25 of 27" in first and "Page 1 of 2" in first
    assert "26–27 of 27" in second


def test_lead_list_costs_the_same_with_3_or_30_leads(client, users, agreement, django_assert_num_queries):
    # given
    for _ in range(3):
        make_mql(owner=users["marketer"])
    client.force_login(users["marketing_lead"])
    url = reverse("leads:list")
    client.get(url)  # warm the session
    # when / then
    with django_assert_num_queries(9):
        client.get(url)
    for _ in range(27):
        make_mql(owner=users["marketer"])
    with django_assert_num_queries(9):
        response = client.get(url)
    assert response.content.decode().count('name="ids"') == 25


def test_feedback_shows_rejected_and_recycled_leads_with_reason_codes(client, users, agreement):
    # given
    lead, handoff = handed_off(users, to_user=users["rep"], organisation="Returned Ltd")
    handoff_reject(handoff=handoff, by=users["rep"], reason="data_incomplete", note="No budget holder named")
    recycled = sql(users, organisation="Later Ltd")
    client.force_login(users["rep"])
    client.post(reverse("leads:recycle", args=[recycled.pk]), {"reason": "timing", "note": "Call back in Q3"})
    client.force_login(users["marketer"])
    # when
    page = client.get(reverse("leads:feedback")).content.decode()
    # then
    assert "Returned Ltd" in page and "Data incomplete" in page and "No budget holder named" in page
    assert "Later Ltd" in page and "Timing / budget cycle" in page and "Call back in Q3" in page
    assert "1</b> rejected: Data incomplete" in page and "1</b> recycled: Timing / budget cycle" in page


def test_feedback_costs_the_same_with_3_or_30_returns(client, users, agreement, django_assert_num_queries):
    # given
    def reject_some(n):
        for _ in range(n):
            _, handoff = handed_off(users, to_user=users["rep"])
            handoff_reject(handoff=handoff, by=users["rep"], reason="fit")

    reject_some(3)
    client.force_login(users["marketer"])
    url = reverse("leads:feedback")
    client.get(url)
    # when / then
    with django_assert_num_queries(8):
        client.get(url)
    reject_some(27)
    with django_assert_num_queries(8):
        client.get(url)


# --- creating and editing ------------------------------------------------------------------------------------------


def test_marketing_adds_a_prospect(client, users, agreement):
    # given
    client.force_login(users["marketer"])
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@navy.example",
        "employees": 150,
        "source": "event",
        "organisation": "Navy",
    }
    # when
    response = client.post(reverse("leads:new"), data)
    # then
    lead = Lead.objects.get(email="grace@navy.example")
    assert response.status_code == 302 and response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert (lead.state, lead.owner, lead.source) == (LeadState.PROSPECT, users["marketer"], "event")


def test_bad_input_is_explained_next_to_the_field_and_kept(client, users, agreement):
    # given
    LeadFactory(email="taken@example.com")
    client.force_login(users["marketer"])
    # when
    bad_email = client.post(
        reverse("leads:new"),
        {
            "first_name": "Grace",
            "email": "not-an-email",
            "source": "event",
            "employees": 0,
            "organisation": "Typed Org",
        },
    )
    duplicate = client.post(
        reverse("leads:new"), {"first_name": "Grace", "email": "TAKEN@example.com", "source": "event", "employees": 0}
    )
    # then
    assert bad_email.status_code == 400
    page = bad_email.content.decode()
    assert 'id="id_email_error"' in page and "Enter a valid email address" in page
    assert 'value="Typed Org"' in page and 'value="not-an-email"' in page
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.content.decode()
    assert Lead.objects.count() == 1


def test_outreach_cannot_edit_a_prospect_marketing_works(client, users, agreement):
    # given
    lead = LeadFactory(phone="")
    before = snapshot(lead)
    client.force_login(users["rep"])
    # when
    response = client.post(
        reverse("leads:edit", args=[lead.pk]),
        {"first_name": "X", "email": lead.email, "phone": "0123", "source": "event", "employees": 0},
    )
    # then
    assert response.status_code == 403
    assert snapshot(lead) == before


def test_editing_a_lead_saves_only_what_changed_and_rescores(client, users, agreement):
    # given
    lead = LeadFactory(phone="", sector="Retail")
    client.force_login(users["marketer"])
    data = {
        f: getattr(lead, f)
        for f in (
            "first_name",
            "last_name",
            "email",
            "job_title",
            "organisation",
            "region",
            "employees",
            "source",
            "campaign",
            "interest",
        )
    }
    data.update(phone="+44 1", sector="Manufacturing")
    # when
    response = client.post(reverse("leads:edit", args=[lead.pk]), data)
    # then
    lead.refresh_from_db()
    assert response.status_code == 302
    assert (lead.phone, lead.sector, lead.imp_fit) == ("+44 1", "Manufacturing", True)


def test_a_touchpoint_that_qualifies_the_lead_says_so(client, users, agreement):
    # given
    lead = LeadFactory()
    touchpoint_record(lead=lead, kind=TouchpointKind.WEBINAR)
    client.force_login(users["marketer"])
    # when
    response = client.post(reverse("leads:touchpoint", args=[lead.pk]), {"kind": "download"}, follow=True)
    # then
    lead.refresh_from_db()
    assert lead.state == LeadState.MQL
    assert "now qualifies as an MQL" in response.content.decode()


def test_only_marketing_records_touchpoints(client, users, agreement):
    lead = LeadFactory()
    before = snapshot(lead)
    client.force_login(users["success"])
    response = client.post(reverse("leads:touchpoint", args=[lead.pk]), {"kind": "download"})
    assert response.status_code == 403
    assert snapshot(lead) == before


def test_qualifying_a_prospect_that_falls_short_says_why_and_changes_nothing(client, users, agreement):
    # given
    lead = LeadFactory()
    before = snapshot(lead)
    client.force_login(users["marketer"])
    # when
    response = client.post(reverse("leads:qualify", args=[lead.pk]), follow=True)
    # then
    assert "0 of 2 touchpoints" in response.content.decode()
    assert snapshot(lead) == before


# --- recycle and disqualify -------------------------------------------------------------------------------------------


def test_outreach_recycles_an_sql_with_a_reason(client, users, agreement):
    # given
    lead = sql(users)
    client.force_login(users["rep"])
    # when
    response = client.post(reverse("leads:recycle", args=[lead.pk]), {"reason": "not_ready", "note": "Next year"})
    # then
    lead.refresh_from_db()
    assert response.status_code == 302
    assert (lead.state, lead.last_reason, lead.team) == (LeadState.RECYCLED, "not_ready", "marketing")
    event = LeadEvent.objects.get(lead=lead, kind=LeadEventKind.RECYCLED)
    assert (event.actor, event.note) == (users["rep"], "Next year")


def test_recycling_without_a_reason_is_refused_next_to_the_field(client, users, agreement):
    lead = sql(users)
    before = snapshot(lead)
    client.force_login(users["rep"])
    response = client.post(reverse("leads:recycle", args=[lead.pk]), {"reason": "", "note": "typed note"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose why the lead goes back to nurture." in page and "typed note" in page
    assert snapshot(lead) == before


def test_marketing_cannot_recycle_an_sql_outreach_is_working(client, users, agreement):
    lead = sql(users)
    before = snapshot(lead)
    client.force_login(users["marketer"])
    response = client.post(reverse("leads:recycle", args=[lead.pk]), {"reason": "not_ready"})
    assert response.status_code == 403
    assert snapshot(lead) == before


def test_disqualifying_as_other_needs_a_note(client, users, agreement):
    lead = make_mql()
    client.force_login(users["marketer"])
    refused = client.post(reverse("leads:disqualify", args=[lead.pk]), {"reason": "other"})
    done = client.post(reverse("leads:disqualify", args=[lead.pk]), {"reason": "duplicate"})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    lead.refresh_from_db()
    assert done.status_code == 302 and lead.state == LeadState.DISQUALIFIED


def test_an_illegal_transition_is_a_message_not_an_error(client, users, agreement):
    # given: a lead already disqualified
    lead = make_mql()
    client.force_login(users["marketer"])
    client.post(reverse("leads:disqualify", args=[lead.pk]), {"reason": "duplicate"})
    before = snapshot(lead)
    # when
    response = client.post(reverse("leads:disqualify", args=[lead.pk]), {"reason": "duplicate"})
    # then
    assert response.status_code == 409
    assert "Cannot move lead" in response.content.decode()
    assert snapshot(lead) == before


# --- the lead detail page ---------------------------------------------------------------------------------------------


def test_detail_shows_the_whole_timeline(client, users, agreement):
    # given
    lead = sql(users, attempts=1)
    client.force_login(users["rep"])
    # when
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    # then: touchpoints, transitions, hand-off, attempt and clocks in one place
    for text in (
        "Webinar attended",
        "Qualified as MQL",
        "Handed off to Outreach",
        "Accepted as SQL",
        "Phone · No answer",
        "Clock started: Marketing hands off an MQL",
        "Marketing hands off an MQL: met",
        "Outreach follow-up attempts",
    ):
        assert text in page, text


def test_detail_of_a_prospect_is_not_for_outreach(client, users, agreement):
    lead = LeadFactory()
    client.force_login(users["rep"])
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 403


def test_detail_costs_the_same_with_a_short_or_long_history(client, users, agreement, django_assert_num_queries):
    # given
    lead = sql(users, attempts=1)
    client.force_login(users["outreach_lead"])
    url = reverse("leads:detail", args=[lead.pk])
    client.get(url)
    # when / then
    with django_assert_num_queries(13):
        client.get(url)
    from handoffs.services import attempt_log

    for _ in range(15):
        attempt_log(lead=lead, by=users["rep"], channel="email", outcome="sent")
    for _ in range(15):
        touchpoint_record(lead=lead, kind=TouchpointKind.VISIT)
    with django_assert_num_queries(13):
        response = client.get(url)
    assert response.content.decode().count("E-mail · Message sent") == 15


# --- bulk assign ------------------------------------------------------------------------------------------------------


def test_team_lead_bulk_assigns_mqls(client, users, agreement):
    # given
    leads = [make_mql() for _ in range(3)]
    client.force_login(users["marketing_lead"])
    # when
    response = client.post(
        reverse("leads:assign"),
        {"team": "marketing", "owner": users["marketer"].pk, "ids": [lead.pk for lead in leads]},
        follow=True,
    )
    # then
    assert "3 leads assigned to" in response.content.decode()
    assert {Lead.objects.get(pk=lead.pk).owner for lead in leads} == {users["marketer"]}
    assert LeadEvent.objects.filter(kind=LeadEventKind.REASSIGNED).count() == 3


def test_staff_cannot_bulk_assign(client, users, agreement):
    leads = [make_mql() for _ in range(2)]
    client.force_login(users["marketer"])
    response = client.post(
        reverse("leads:assign"),
        {"team": "marketing", "owner": users["marketer"].pk, "ids": [lead.pk for lead in leads]},
    )
    assert response.status_code == 403
    assert not Lead.objects.filter(owner__isnull=False).exists()


def test_a_team_lead_cannot_reassign_another_teams_work(client, users, agreement):
    # given: one MQL (Marketing) and one SQL (Outreach) in the same request
    mql = make_mql()
    outreach_work = sql(users)
    before = snapshot(outreach_work)
    client.force_login(users["marketing_lead"])
    # when
    response = client.post(
        reverse("leads:assign"), {"team": "marketing", "owner": users["marketer"].pk, "ids": [mql.pk, outreach_work.pk]}
    )
    # then: refused as a whole
    assert response.status_code == 403
    assert Lead.objects.get(pk=mql.pk).owner is None
    assert snapshot(outreach_work) == before


def test_bulk_assign_is_all_or_nothing(client, users, agreement):
    # given: a disqualified lead cannot be reassigned, so the batch must not half-apply
    fine = make_mql(owner=users["marketing_lead"])
    closed = make_mql()
    client.force_login(users["marketer"])
    client.post(reverse("leads:disqualify", args=[closed.pk]), {"reason": "duplicate"})
    client.force_login(users["marketing_head"])
    # when
    response = client.post(
        reverse("leads:assign"),
        {"team": "marketing", "owner": users["marketer"].pk, "ids": [fine.pk, closed.pk]},
        follow=True,
    )
    # then
    assert "Nothing was reassigned" in response.content.decode()
    assert Lead.objects.get(pk=fine.pk).owner == users["marketing_lead"]
    assert not LeadEvent.objects.filter(kind=LeadEventKind.REASSIGNED).exists()
