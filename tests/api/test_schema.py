"""The schema is the contract: schemathesis reads /api/schema/ and, for every operation, sends a bounded number of
generated requests (valid and invalid data) as an admin with a token, then checks that no answer is a server error
and that every answer's status code, content type and body are the ones the schema documents."""

from datetime import date

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from handoffs.services import attempt_log, handoff_accept, handoff_create
from onboarding.services import lead_convert
from tests.factories import LeadFactory, make_mql

EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go straight to the WSGI app, not through Django's test client, so do what the client does: keep
    Django from closing the test's database connection at the end of each request (on PostgreSQL it would)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(users, agreement, settings):
    """A little of everything, so generated ids (small integers) often hit real rows; no throttling in the way."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/min", "intake": "100000/min"},
    }
    LeadFactory()
    make_mql(owner=users["marketer"])
    lead = make_mql(owner=users["marketer"])
    handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    handoff_accept(handoff=handoff, by=users["rep"])
    attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="connected")
    lead_convert(
        lead=lead,
        by=users["rep"],
        membership_type="corporate",
        contract_value="1200",
        term_start=date(2026, 1, 1),
        term_end=date(2027, 1, 1),
    )
    return Token.objects.create(user=users["admin"]).key


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_matches_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)
