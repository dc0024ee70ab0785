"""The Monday digest (inbox + outbox, exactly once) and the monthly alignment review (who may record what)."""

from datetime import date, datetime

import pytest
from django.urls import reverse

from metrics.services import digest_week, review_monthly_open, weekly_digest_send
from metrics.tasks import rollups_refresh_task, weekly_digest_task
from sla.escalations import review_action_add
from sla.models import Delivery, Notification, Review, ReviewAction
from sla_portal.errors import Forbidden, InvalidInput

from .worlds import UTC, at, build_march

pytestmark = pytest.mark.django_db

MONDAY = datetime(2025, 3, 17, 8, tzinfo=UTC)  # the digest of 10–16 March


def digests():
    # Other features write inbox items too (hand-off alerts, flags): look at the digests only.
    return Notification.objects.filter(escalation__isnull=True, title__startswith="Weekly SLA digest")


def test_digest_week_is_the_last_full_monday_to_sunday():
    assert digest_week(MONDAY) == (date(2025, 3, 10), date(2025, 3, 17))
    assert digest_week(datetime(2025, 3, 20, 12, tzinfo=UTC)) == (date(2025, 3, 10), date(2025, 3, 17))


def test_every_team_lead_gets_an_inbox_item_and_a_pending_email(users, agreement):
    # given the hand-built March
    build_march(users)
    # when
    with at(MONDAY):
        sent = weekly_digest_send()
    # then one digest per lead of the three teams, each with its e-mail waiting in the outbox for the sender
    leads = {users["marketing_lead"], users["outreach_lead"], users["success_lead"]}
    assert sent == 3
    notifications = digests()
    assert {n.recipient for n in notifications} == leads
    for n in notifications:
        assert n.title.startswith("Weekly SLA digest") and "10 Mar 2025" in n.title
        assert n.url.startswith(f"/dashboard/team/{n.recipient.team.kind}/")
        assert "You lead" in n.why
        [delivery] = n.deliveries.all()
        assert delivery.channel == Delivery.Channel.EMAIL and delivery.status == Delivery.Status.PENDING
        assert delivery.next_attempt_at == MONDAY and delivery.target == n.recipient.email
        assert delivery.body == n.body and "<html" in delivery.html_body


def test_the_digest_carries_the_weeks_numbers(users, agreement):
    # given March; in 10–16 March: L3 (10th) and L4 (12th) were created and qualified, L3 again on the 14th
    build_march(users)
    # when
    with at(MONDAY):
        weekly_digest_send()
    text = digests().get(recipient=users["outreach_lead"]).body
    # then
    assert "Prospect: 2 (" in text and "MQL: 3 (" in text
    assert "Response time to hand-off (median hours)" in text  # Outreach's own KPI
    assert "Not a fit for the IMP" in text  # L3's rejection on the 11th


def test_running_the_digest_twice_sends_it_once(users, agreement):
    # given
    with at(MONDAY):
        weekly_digest_send()
        # when
        again = weekly_digest_task()
    # then
    assert again == 0
    assert digests().count() == 3 and Delivery.objects.filter(notification__in=digests()).count() == 3


def test_a_lead_without_an_email_still_gets_the_inbox_item(users, agreement):
    # given
    users["success_lead"].email = ""
    users["success_lead"].save(update_fields=["email"])
    # when
    with at(MONDAY):
        weekly_digest_send()
    # then
    assert digests().filter(recipient=users["success_lead"]).exists()
    assert not Delivery.objects.filter(notification__in=digests().filter(recipient=users["success_lead"])).exists()


def test_rollups_task_runs_the_refresh(users, agreement):
    build_march(users)
    with at(datetime(2025, 4, 5, tzinfo=UTC)):
        assert rollups_refresh_task() > 0


# --- the monthly alignment review -------------------------------------------------------------------------


def test_a_lead_opens_last_months_review_once(users, agreement):
    # given / when
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        review = review_monthly_open(month=date(2025, 3, 12), by=users["marketing_lead"])
        again = review_monthly_open(month=date(2025, 3, 1), by=users["success_head"])
    # then
    assert review.pk == again.pk
    assert (review.kind, review.period_start, review.period_end) == ("monthly", date(2025, 3, 1), date(2025, 4, 1))
    assert review.due_on == date(2025, 4, 15) and review.agreement == agreement


def test_staff_cannot_open_a_review_and_a_running_month_cannot_be_reviewed(users, agreement):
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        with pytest.raises(Forbidden):
            review_monthly_open(month=date(2025, 3, 1), by=users["rep"])
        with pytest.raises(InvalidInput):
            review_monthly_open(month=date(2025, 4, 1), by=users["outreach_lead"])


def test_review_page_shows_the_months_issues(client, users, agreement):
    # given March and its review
    build_march(users)
    with at(datetime(2025, 4, 5, tzinfo=UTC)):
        review = review_monthly_open(month=date(2025, 3, 1), by=users["outreach_lead"])
        client.force_login(users["rep"])
        # when
        response = client.get(reverse("metrics:review", args=[review.pk]))
    # then hand-offs made, rejections and data gaps of March; staff see it but get no forms
    pack = response.context["pack"]
    assert pack.handoffs == {"made": 6, "incomplete": 2, "rejected": 1, "pending": 1}
    assert [r["field"] for r in pack.data_gaps.rows] == ["phone"] and pack.data_gaps.rows[0]["count"] == 2
    assert pack.rejections.rows == [{"reason": "Not a fit for the IMP", "source": "Webinar", "count": 1}]
    assert b"Record and close the review" not in response.content


def test_lead_records_root_causes_and_actions_through_the_page(client, users, agreement):
    # given
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        review = review_monthly_open(month=date(2025, 3, 1), by=users["marketing_lead"])
    client.force_login(users["marketing_lead"])
    with at(datetime(2025, 4, 3, 10, tzinfo=UTC)):
        # when an action is added (htmx) and the review recorded
        added = client.post(
            reverse("metrics:review_action_add", args=[review.pk]),
            {
                "description": "Make phone mandatory on webinar forms",
                "owner": users["marketer"].pk,
                "due_on": "2025-04-17",
            },
            headers={"HX-Request": "true"},
        )
        recorded = client.post(
            reverse("metrics:review_record", args=[review.pk]),
            {"root_causes": "Webinar form does not ask for a phone number.", "notes": "Revisit in May."},
        )
    # then the action is a tracked item with owner and due date, and the review is done
    assert added.status_code == 200 and b"Make phone mandatory" in added.content
    action = ReviewAction.objects.get()
    assert (action.owner, action.due_on, action.status) == (users["marketer"], date(2025, 4, 17), "open")
    assert recorded.status_code == 302
    review.refresh_from_db()
    assert review.status == Review.Status.DONE and "phone" in review.root_causes
    assert review.completed_by == users["marketing_lead"]


def test_the_actions_owner_closes_it(client, users, agreement):
    # given an action owned by a member of staff
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        review = review_monthly_open(month=date(2025, 3, 1), by=users["marketing_lead"])
        action = review_action_add(
            review=review,
            by=users["marketing_lead"],
            description="Fix form",
            owner=users["marketer"],
            due_on=date(2025, 4, 9),
        )
    client.force_login(users["marketer"])
    # when
    response = client.post(reverse("metrics:review_action_done", args=[review.pk, action.pk]))
    # then
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == ReviewAction.Status.DONE


def test_staff_cannot_record_a_review_or_add_actions(client, users, agreement):
    # given
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        review = review_monthly_open(month=date(2025, 3, 1), by=users["marketing_lead"])
    client.force_login(users["rep"])
    # when
    recorded = client.post(reverse("metrics:review_record", args=[review.pk]), {"root_causes": "x"})
    added = client.post(
        reverse("metrics:review_action_add", args=[review.pk]),
        {"description": "x", "owner": users["rep"].pk, "due_on": "2030-01-01"},
    )
    opened = client.post(reverse("metrics:review_open"), {"month": "2025-02-01"})
    # then nothing changed
    assert (recorded.status_code, added.status_code, opened.status_code) == (403, 403, 403)
    review.refresh_from_db()
    assert review.status == Review.Status.OPEN and not ReviewAction.objects.exists()
    assert Review.objects.count() == 1


def test_a_past_due_date_is_refused_with_a_message(client, users, agreement):
    # given
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        review = review_monthly_open(month=date(2025, 3, 1), by=users["marketing_lead"])
    client.force_login(users["marketing_lead"])
    # when
    with at(datetime(2025, 4, 3, tzinfo=UTC)):
        response = client.post(
            reverse("metrics:review_action_add", args=[review.pk]),
            {"description": "Late", "owner": users["marketer"].pk, "due_on": "2025-03-01"},
        )
    # then
    assert response.status_code == 400
    assert "cannot be in the past" in response.content.decode()
    assert not ReviewAction.objects.exists()


def test_review_list_offers_last_month_to_leads(client, users, agreement):
    client.force_login(users["success_lead"])
    with at(datetime(2025, 4, 2, tzinfo=UTC)):
        response = client.get(reverse("metrics:reviews"))
    assert b"Open the March 2025 review" in response.content
