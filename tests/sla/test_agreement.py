"""The versioned agreement: exactly one active version, sign-off before activation, an amendment log,
and work started under a version keeping that version's terms."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction

from accounts.models import TeamKind
from handoffs.services import handoff_create
from sla.clocks import clocks_for
from sla.escalations import deliveries_send
from sla.models import Agreement, Amendment, Commitment, CommitmentTerm
from sla.services import agreement_activate, agreement_active, agreement_draft, agreement_sign
from sla_portal.errors import DomainError, Forbidden, InvalidTransition
from tests.factories import make_mql

pytestmark = pytest.mark.django_db


def sign_all(draft, signers):
    for team in draft.parties.all():
        agreement_sign(agreement=draft, team=team, by=signers[team.kind])


def test_bootstrap_gives_one_signed_active_version(agreement):
    assert agreement_active() == agreement
    assert agreement.version == 1
    assert agreement.sign_offs.count() == 3
    assert agreement.terms.count() == len(Commitment.values) - 3  # plan and review deadlines come from rules
    assert agreement.kpi_targets.count() == 7
    assert Amendment.objects.get(agreement=agreement).summary == "v1 adopted"


def test_the_database_refuses_a_second_active_version(agreement, users):
    draft = agreement_draft(by=users["admin"], based_on=agreement)
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=draft.pk).update(status=Agreement.Status.ACTIVE)


def test_activating_an_amendment_supersedes_the_active_version_and_logs_the_diff(agreement, users, signers):
    # given: a draft copied from v1 with a faster first response
    draft = agreement_draft(by=users["admin"], based_on=agreement, mql_min_score=60)
    CommitmentTerm.objects.filter(agreement=draft, commitment=Commitment.FIRST_RESPONSE).update(amount=2)
    sign_all(draft, signers)
    mail.outbox.clear()
    # when
    active = agreement_activate(agreement=draft, by=users["admin"], summary="Faster response, stricter MQL")
    # then
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.SUPERSEDED
    assert active.status == Agreement.Status.ACTIVE and active.version == 2
    assert Agreement.objects.filter(status=Agreement.Status.ACTIVE).count() == 1
    amendment = Amendment.objects.get(agreement=active)
    assert amendment.previous == agreement
    assert amendment.changes["mql_min_score"] == [50, 60]
    assert amendment.changes["commitment:first_response"] == ["4 hours (Office hours)", "2 hours (Office hours)"]
    # all parties are told
    assert set(amendment.notified.values_list("username", flat=True)) >= {"marketer", "rep", "success"}
    deliveries_send()
    assert any(
        "SLA v2 is now active" in m.subject
        and "'mql_min_score': 50 → 60" not in m.body
        and "mql_min_score: 50 → 60" in m.body
        for m in mail.outbox
    )


def test_activation_needs_every_partys_sign_off(agreement, users, signers):
    draft = agreement_draft(by=users["admin"], based_on=agreement)
    agreement_sign(agreement=draft, team=users["marketing_lead"].team, by=users["marketing_lead"])
    with pytest.raises(DomainError, match="needs sign-off from: Member Success, Outreach|Outreach, Member Success"):
        agreement_activate(agreement=draft, by=users["admin"])
    draft.refresh_from_db()
    assert draft.status == Agreement.Status.DRAFT
    assert agreement_active() == agreement


def test_only_a_partys_lead_or_head_signs_and_only_once(agreement, users):
    draft = agreement_draft(by=users["admin"], based_on=agreement)
    outreach = users["rep"].team
    with pytest.raises(Forbidden):
        agreement_sign(agreement=draft, team=outreach, by=users["rep"])
    with pytest.raises(Forbidden):
        agreement_sign(agreement=draft, team=outreach, by=users["marketing_lead"])
    agreement_sign(agreement=draft, team=outreach, by=users["outreach_head"])
    with pytest.raises(DomainError, match="already signed"):
        agreement_sign(agreement=draft, team=outreach, by=users["outreach_lead"])


def test_an_active_version_cannot_be_activated_or_signed_again(agreement, users):
    with pytest.raises(InvalidTransition):
        agreement_activate(agreement=agreement, by=users["admin"])
    with pytest.raises(DomainError):
        agreement_sign(agreement=agreement, team=users["rep"].team, by=users["outreach_lead"])


def test_work_started_under_v1_keeps_v1_terms(agreement, users, signers):
    # given: a lead qualified under v1 (first response 4 working hours)
    monday = datetime(2026, 11, 9, 9, tzinfo=UTC)
    with time_machine.travel(monday, tick=False):
        lead = make_mql(owner=users["marketer"])
    # when: v2 (2 working hours) becomes active before the hand-off
    draft = agreement_draft(by=users["admin"], based_on=agreement)
    CommitmentTerm.objects.filter(agreement=draft, commitment=Commitment.FIRST_RESPONSE).update(amount=2)
    sign_all(draft, signers)
    agreement_activate(agreement=draft, by=users["admin"])
    with time_machine.travel(monday + timedelta(hours=1), tick=False):
        handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
        new_lead = make_mql(owner=users["marketer"])
        new_handoff = handoff_create(lead=new_lead, by=users["marketer"], to_user=users["rep"])
    # then: the old lead's clock runs on v1's 4 h, the new lead's on v2's 2 h
    old_clock = clocks_for(lead).get(commitment=Commitment.FIRST_RESPONSE)
    new_clock = clocks_for(new_lead).get(commitment=Commitment.FIRST_RESPONSE)
    assert (handoff.agreement.version, old_clock.due_at) == (1, monday + timedelta(hours=5))
    assert (new_handoff.agreement.version, new_clock.due_at) == (2, monday + timedelta(hours=3))


def test_admin_shows_frozen_versions_read_only_and_activates_through_the_service(agreement, users, signers, client):
    # given
    client.force_login(users["admin"])
    draft = agreement_draft(by=users["admin"], based_on=agreement)
    # when: an admin tries to edit the active version
    response = client.post(f"/admin/sla/agreement/{agreement.pk}/change/", {"mql_min_score": 1})
    agreement.refresh_from_db()
    # then: nothing changes
    assert agreement.mql_min_score == 50
    assert response.status_code in (200, 302, 403)
    # when: activating an unsigned draft from the admin action
    response = client.post("/admin/sla/agreement/", {"action": "activate", "_selected_action": [draft.pk]}, follow=True)
    assert "still needs sign-off" in response.content.decode()
    assert agreement_active() == agreement
    # when: signed, the action activates it
    sign_all(draft, signers)
    client.post("/admin/sla/agreement/", {"action": "activate", "_selected_action": [draft.pk]})
    assert agreement_active() == draft


def test_admin_pages_render_for_every_model(agreement, users, client):
    from django.contrib import admin

    client.force_login(users["admin"])
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
    assert client.get(f"/admin/sla/agreement/{agreement.pk}/change/").status_code == 200


def test_parties_are_the_three_teams(agreement):
    assert sorted(agreement.parties.values_list("kind", flat=True)) == sorted(
        [TeamKind.MARKETING, TeamKind.OUTREACH, TeamKind.MEMBER_SUCCESS]
    )
