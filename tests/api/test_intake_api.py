"""POST /api/intake/: create or update by e-mail (any case), record the touchpoint, re-score, qualify; safe retries
with Idempotency-Key; per-token rate limits; bad bodies are 400/413/415, never 500."""

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import IdempotencyRecord, Lead, LeadEvent, LeadState, Touchpoint
from sla.models import Clock, Commitment
from tests.factories import LeadFactory

FORM = {
    "email": "grace@hopper.example",
    "first_name": "Grace",
    "last_name": "Hopper",
    "organisation": "Navy Labs",
    "sector": "Technology",
    "employees": 300,
    "campaign": "spring-webinar",
    "touchpoint": {"kind": "webinar"},
}


def post(client, body=FORM, key=None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/intake/", body, format="json", **headers, **extra)


def test_a_new_e_mail_creates_a_prospect_with_its_touchpoint(api, users):
    # when
    response = post(api("marketer"))
    # then
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True and body["qualified"] is False
    assert body["lead"]["state"] == "prospect" and body["lead"]["employees"] == 500
    assert body["touchpoint"]["kind"] == "webinar" and body["touchpoint"]["campaign"] == "spring-webinar"
    lead = Lead.objects.get(email="grace@hopper.example")
    assert lead.touchpoint_count == 1 and lead.score == body["lead"]["score"] > 0
    assert list(LeadEvent.objects.filter(lead=lead).values_list("kind", flat=True)) == ["created", "touchpoint"]
    assert LeadEvent.objects.filter(lead=lead, actor=users["marketer"]).count() == 2


def test_the_same_person_in_another_case_updates_and_qualifies(api):
    # given
    client = api("marketer")
    post(client)
    # when: the second touchpoint meets the thresholds (fit, 2 touchpoints, score ≥ 50)
    response = post(
        client, {"email": "GRACE@Hopper.Example", "phone": "+1 555 0100", "touchpoint": {"kind": "download"}}
    )
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["created"] is False and body["qualified"] is True
    assert Lead.objects.count() == 1
    lead = Lead.objects.get()
    assert lead.email == "grace@hopper.example" and lead.phone == "+1 555 0100" and lead.last_name == "Hopper"
    assert lead.state == LeadState.MQL and lead.touchpoint_count == 2
    assert Clock.objects.filter(subject_id=lead.pk, commitment=Commitment.MQL_HANDOFF).exists()


def test_without_a_touchpoint_an_intake_records_a_form_submission(api):
    response = post(api("marketer"), {"email": "x@example.org", "first_name": "X"})
    assert response.status_code == 201 and response.json()["touchpoint"]["kind"] == "form"


def test_a_retry_with_the_same_key_replays_the_answer(api):
    # given
    client = api("marketer")
    # when
    first = post(client, key="7c9e6679-7425-40de-944b-e07fc1f90ae7")
    retry = post(client, key="7c9e6679-7425-40de-944b-e07fc1f90ae7")
    # then
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Lead.objects.count() == 1 and Touchpoint.objects.count() == 1
    assert LeadEvent.objects.filter(kind="touchpoint").count() == 1


def test_a_key_reused_for_another_submission_is_refused(api):
    client = api("marketer")
    post(client, key="form-42")
    other = post(client, {**FORM, "touchpoint": {"kind": "download"}}, key="form-42")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Touchpoint.objects.count() == 1


def test_keys_belong_to_their_user(api):
    post(api("marketer"), key="shared-key")
    second = post(api("marketing_lead"), key="shared-key")
    assert second.status_code == 200
    assert Touchpoint.objects.count() == 2 and IdempotencyRecord.objects.count() == 2


def test_a_request_that_failed_stores_nothing_so_the_retry_runs(api):
    client = api("marketer")
    failed = post(client, {"email": "new@example.org"}, key="k-2")  # a new e-mail needs a first name
    fixed = post(client, {"email": "new@example.org", "first_name": "New"}, key="k-2")
    assert failed.status_code == 400 and "first_name" in failed.json()["errors"]
    assert fixed.status_code == 201
    assert Lead.objects.filter(email="new@example.org").count() == 1


def test_a_bad_key_is_a_field_error(api):
    response = post(api("marketer"), key="x" * 101)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]
    assert not Lead.objects.exists()


def test_validation_lists_every_field(api):
    response = post(
        api("marketer"),
        {"email": "nope", "employees": -3, "source": "tv", "touchpoint": {"kind": "smoke-signal", "points": "many"}},
    )
    assert response.status_code == 400
    assert {"email", "employees", "source", "touchpoint.kind", "touchpoint.points"} <= set(response.json()["errors"])
    assert not Lead.objects.exists()


def test_a_new_prospect_without_a_first_name_is_refused_and_nothing_is_kept(api):
    response = post(api("marketer"), {"email": "anon@example.org", "touchpoint": {"kind": "visit"}})
    assert response.status_code == 400 and response.json()["errors"] == {"first_name": ["This field is required."]}
    assert not Lead.objects.exists() and not Touchpoint.objects.exists()


def test_blank_fields_never_erase_and_first_touch_attribution_stays(api, agreement):
    # given
    LeadFactory(email="kept@example.org", phone="+44 1", source="event", campaign="Expo")
    # when
    post(api("marketer"), {"email": "kept@example.org", "phone": "", "source": "paid", "campaign": "Ads"})
    # then
    lead = Lead.objects.get(email="kept@example.org")
    assert (lead.phone, lead.source, lead.campaign) == ("+44 1", "event", "Expo")
    assert Touchpoint.objects.get(lead=lead).campaign == "Ads"


def test_only_marketing_takes_leads_in(api):
    response = post(api("rep"))
    assert response.status_code == 403 and not Lead.objects.exists()


def test_intake_needs_credentials(api):
    response = post(api())
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert post(bad).status_code == 401


# --- malformed and oversized bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'"text"', b"null", b"[" * 60_000, b'{"email": NaN}', b"\xff\xfe\x00"],
    ids=["broken", "array", "string", "null", "deep", "nan", "not-utf8"],
)
def test_malformed_bodies_are_400(api, raw):
    response = api("marketer").post("/api/intake/", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"parse_error", "invalid"}
    assert not Lead.objects.exists()


def test_an_oversized_body_is_413(api):
    body = json.dumps({**FORM, "interest": "x" * 70_000})
    response = api("marketer").post("/api/intake/", body, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_an_oversized_body_is_refused_even_when_content_length_lies(api):
    body = json.dumps({**FORM, "interest": "x" * 70_000}).encode()
    response = api("marketer").post("/api/intake/", body, content_type="application/json", CONTENT_LENGTH="10")
    assert response.status_code in {400, 413}
    assert not Lead.objects.exists()


def test_form_encoded_bodies_are_415(api):
    response = api("marketer").post("/api/intake/", {"email": "a@b.c"}, format="multipart")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


# --- rate limits ------------------------------------------------------------------------------------------


def test_intake_is_rate_limited_per_token(api, settings):
    # given
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"intake": "3/min", "api": "1000/min"},
    }
    noisy, quiet = api("marketer"), api("marketing_lead")
    # when
    answers = [post(noisy, {**FORM, "email": f"p{i}@example.org"}).status_code for i in range(4)]
    other_token = post(quiet, {**FORM, "email": "q@example.org"})
    # then
    assert answers == [201, 201, 201, 429]
    assert other_token.status_code == 201
    limited = post(noisy, {**FORM, "email": "late@example.org"})
    assert limited.json()["code"] == "throttled" and int(limited["Retry-After"]) > 0
    assert not Lead.objects.filter(email="late@example.org").exists()


def test_the_rest_of_the_api_is_rate_limited_per_token_too(api, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "2/min", "intake": "9/min"}}
    client = api("marketer")
    codes = [client.get("/api/leads/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_session_counts_per_user_and_needs_csrf_for_writes(users, agreement):
    # given: the browser's session
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(users["marketer"])
    # when
    read = client.get("/api/leads/")
    write = post(client)
    # then
    assert read.status_code == 200
    assert write.status_code == 403 and "CSRF" in write.json()["detail"]
    assert not Lead.objects.exists()


def test_a_token_for_an_inactive_user_stops_working(api, users):
    key = Token.objects.create(user=users["marketer"]).key
    users["marketer"].is_active = False
    users["marketer"].save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert post(client).status_code == 401
