import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache: every test starts with a clean slate."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(users, agreement):
    """`api("rep")` → an APIClient authenticated with that user's token (the way scripts call the API)."""

    def client_for(name: str | None = None) -> APIClient:
        client = APIClient()
        if name is not None:
            token, _ = Token.objects.get_or_create(user=users[name])
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


def event_count(lead) -> int:
    from leads.models import LeadEvent

    return LeadEvent.objects.filter(lead=lead).count()


@pytest.fixture
def lead_at(users):
    """`lead_at("sql")` → a lead brought to that state through the real services, with its hand-off."""
    from datetime import date

    from handoffs.services import attempt_log, handoff_accept, handoff_create, handoff_reject
    from leads.models import Lead
    from leads.services import lead_disqualify, lead_recycle
    from onboarding.services import lead_convert
    from tests.factories import LeadFactory, make_mql

    def build(state: str) -> Lead:
        if state == "prospect":
            return LeadFactory()
        if state == "disqualified":
            return lead_disqualify(lead=LeadFactory(), by=users["marketer"], reason="not_a_fit")
        lead = make_mql(owner=users["marketer"])
        if state == "mql":
            return lead
        handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
        if state == "handed_off":
            return Lead.objects.get(pk=lead.pk)
        if state == "rejected":
            handoff_reject(handoff=handoff, by=users["rep"], reason="interest")
            return Lead.objects.get(pk=lead.pk)
        handoff_accept(handoff=handoff, by=users["rep"])
        if state == "sql":
            return Lead.objects.get(pk=lead.pk)
        if state == "recycled":
            return lead_recycle(lead=lead, by=users["rep"], reason="not_ready")
        attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="no_answer")
        if state == "working":
            return Lead.objects.get(pk=lead.pk)
        assert state == "converted", state
        lead_convert(
            lead=lead,
            by=users["rep"],
            membership_type="corporate",
            contract_value="1200",
            term_start=date(2026, 1, 1),
            term_end=date(2027, 1, 1),
        )
        return Lead.objects.get(pk=lead.pk)

    return build


@pytest.fixture
def member(users, lead_at):
    """A signed membership from a converted lead."""
    from onboarding.models import Membership

    return Membership.objects.get(lead=lead_at("converted"))
