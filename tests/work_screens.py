"""Building blocks for the work-screen tests: states reached through the real services, and a query-count
helper that proves a page costs the same with a few rows as with many."""

from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext

from handoffs.models import Handoff
from handoffs.services import attempt_log, handoff_accept, handoff_create
from leads.models import Lead
from onboarding.models import Membership
from onboarding.services import lead_convert
from tests.factories import make_mql


def handed_off(users, to_user=None, **fields) -> tuple[Lead, Handoff]:
    lead = make_mql(owner=users["marketer"], **fields)
    handoff = handoff_create(lead=lead, by=users["marketer"], to_user=to_user)
    return Lead.objects.get(pk=lead.pk), handoff


def sql(users, owner_key="rep", attempts=0, **fields) -> Lead:
    lead, handoff = handed_off(users, to_user=users[owner_key], **fields)
    handoff_accept(handoff=handoff, by=users[owner_key])
    for _ in range(attempts):
        attempt_log(lead=lead, by=users[owner_key], channel="phone", outcome="no_answer")
    return Lead.objects.get(pk=lead.pk)


def member(users, owner_key="success", **fields) -> Membership:
    lead = sql(users, **fields)
    return lead_convert(
        lead=lead,
        by=users["rep"],
        membership_type="corporate",
        contract_value="1200",
        term_start=date(2026, 1, 1),
        term_end=date(2027, 1, 1),
        notes="Wants the events programme.",
        owner=users[owner_key] if owner_key else None,
    )


def count_queries(client, url: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), response
