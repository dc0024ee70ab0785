"""The intake service (leads.intake): create-or-update by e-mail in any case, one touchpoint per idempotency key,
and the stored answers that make an API retry replay the first response."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from leads.intake import (
    Answer,
    IdempotencyKeyReused,
    employees_bucket,
    idempotency_key_clean,
    idempotency_records_purge,
    idempotent_call,
    lead_changes,
    lead_intake,
)
from leads.models import IdempotencyRecord, Lead, LeadEvent, LeadState, OrgSize, Touchpoint
from sla_portal.errors import InvalidInput
from tests.factories import LeadFactory

PERSON = {"email": "Ann@Example.org", "first_name": "Ann", "sector": "Retail", "employees": 150}


def test_creates_the_prospect_and_its_touchpoint(users, agreement):
    # when
    result = lead_intake(by=users["marketer"], lead=PERSON, touchpoint={"kind": "webinar"})
    # then
    assert result.created and not result.qualified
    assert result.lead.state == LeadState.PROSPECT and result.lead.touchpoint_count == 1
    assert result.touchpoint.points == 20
    assert [e.kind for e in LeadEvent.objects.filter(lead=result.lead)] == ["created", "touchpoint"]


def test_matches_the_e_mail_in_any_case_and_qualifies(users, agreement):
    # given
    first = lead_intake(by=users["marketer"], lead=PERSON, touchpoint={"kind": "webinar"})
    # when
    second = lead_intake(
        by=users["marketer"], lead={"email": "  ANN@example.ORG ", "region": "London"}, touchpoint={"kind": "download"}
    )
    # then
    assert not second.created and second.qualified
    assert second.lead.pk == first.lead.pk and Lead.objects.count() == 1
    assert second.lead.email == "Ann@Example.org" and second.lead.region == "London"
    assert second.lead.state == LeadState.MQL


def test_the_same_idempotency_key_never_records_a_second_touchpoint(users, agreement):
    lead_intake(by=users["marketer"], lead=PERSON, touchpoint={"kind": "form"}, idempotency_key="u1:k")
    again = lead_intake(by=users["marketer"], lead=PERSON, touchpoint={"kind": "form"}, idempotency_key="u1:k")
    assert not again.created
    assert Touchpoint.objects.count() == 1 and again.lead.touchpoint_count == 1


def test_a_key_already_used_for_another_lead_is_refused_and_rolls_back(users, agreement):
    lead_intake(by=users["marketer"], lead=PERSON, touchpoint={"kind": "form"}, idempotency_key="u1:k")
    with pytest.raises(IdempotencyKeyReused):
        lead_intake(
            by=users["marketer"],
            lead={"email": "bob@example.org", "first_name": "Bob"},
            touchpoint={"kind": "form"},
            idempotency_key="u1:k",
        )
    assert not Lead.objects.filter(email="bob@example.org").exists()


def test_a_new_e_mail_needs_a_first_name_and_nothing_is_kept(users, agreement):
    with pytest.raises(InvalidInput) as refused:
        lead_intake(by=users["marketer"], lead={"email": "nobody@example.org"}, touchpoint={"kind": "visit"})
    assert "first_name" in refused.value.errors
    assert not Lead.objects.exists() and not Touchpoint.objects.exists()


def test_an_unknown_touchpoint_kind_rolls_the_new_lead_back(users, agreement):
    with pytest.raises(InvalidInput):
        lead_intake(by=users["marketer"], lead=PERSON, touchpoint={"kind": "carrier-pigeon"})
    assert not Lead.objects.exists()


def test_a_concurrent_create_of_the_same_e_mail_becomes_an_update(users, agreement, monkeypatch):
    # given: another request creates the lead between our lookup and our insert
    import leads.intake as intake

    LeadFactory(email="race@example.org", first_name="Early")
    real_find, calls = intake.lead_find, []

    def racing_find(email):
        calls.append(email)
        return None if len(calls) == 1 else real_find(email)

    monkeypatch.setattr(intake, "lead_find", racing_find)
    # when
    result = lead_intake(
        by=users["marketer"], lead={"email": "race@example.org", "first_name": "Late"}, touchpoint={"kind": "visit"}
    )
    # then
    assert not result.created and Lead.objects.filter(email__iexact="race@example.org").count() == 1
    assert result.lead.first_name == "Late"


def test_lead_changes_ignores_blanks_and_first_touch_fields(agreement):
    lead = LeadFactory(phone="+44 1", source="event", campaign="Expo", employees=25)
    changes = lead_changes(lead, {"phone": " ", "employees": 0, "source": "paid", "campaign": "Ads", "region": "Leeds"})
    assert changes == {"region": "Leeds"}


@pytest.mark.parametrize(
    ("count", "band"), [(0, OrgSize.UNKNOWN), (1, OrgSize.MICRO), (9, 5), (10, 25), (49, 25), (50, 150), (250, 500)]
)
def test_employee_counts_fall_into_bands(count, band):
    assert employees_bucket(count) == band


@pytest.mark.parametrize("raw", ["", " ", "x" * 101, "naïve", "two words", "tab\there"])
def test_idempotency_keys_are_visible_ascii_up_to_100(raw):
    with pytest.raises(InvalidInput):
        idempotency_key_clean(raw)


def test_idempotent_call_runs_once_and_replays(users, db):
    calls = []

    def run():
        calls.append(1)
        return Answer(201, {"n": len(calls)})

    first = idempotent_call(user=users["marketer"], scope="s", key="k", fingerprint="f", run=run)
    second = idempotent_call(user=users["marketer"], scope="s", key="k", fingerprint="f", run=run)
    assert (first.status_code, first.body, first.replayed) == (201, {"n": 1}, False)
    assert (second.status_code, second.body, second.replayed) == (201, {"n": 1}, True)
    assert calls == [1]
    with pytest.raises(IdempotencyKeyReused):
        idempotent_call(user=users["marketer"], scope="s", key="k", fingerprint="other", run=run)


def test_a_failed_call_leaves_no_record(users, db):
    def run():
        raise InvalidInput({"email": "Bad."})

    with pytest.raises(InvalidInput):
        idempotent_call(user=users["marketer"], scope="s", key="k", fingerprint="f", run=run)
    assert not IdempotencyRecord.objects.exists()


def test_the_key_is_unique_per_user_scope_and_key(users, db):
    IdempotencyRecord.objects.create(user=users["marketer"], scope="s", key="k", fingerprint="f")
    with pytest.raises(IntegrityError):
        IdempotencyRecord.objects.create(user=users["marketer"], scope="s", key="k", fingerprint="g")


def test_old_records_are_purged(users, db):
    old = IdempotencyRecord.objects.create(user=users["marketer"], scope="s", key="old", fingerprint="f")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    IdempotencyRecord.objects.create(user=users["marketer"], scope="s", key="new", fingerprint="f")
    assert idempotency_records_purge(older_than=timezone.now() - timedelta(days=7)) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_daily_task_keeps_a_week_of_keys(users, db):
    from leads.tasks import idempotency_records_purge_task

    nine_days = IdempotencyRecord.objects.create(user=users["marketer"], scope="s", key="nine", fingerprint="f")
    IdempotencyRecord.objects.filter(pk=nine_days.pk).update(created_at=timezone.now() - timedelta(days=9))
    IdempotencyRecord.objects.create(user=users["marketer"], scope="s", key="today", fingerprint="f")
    assert idempotency_records_purge_task() == 1
