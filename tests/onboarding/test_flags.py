"""Flags from Member Success to Outreach (upsell) and Marketing (nurture): raise once, close once, each with
its event row, refused cleanly otherwise."""

import pytest

from onboarding.models import MembershipEvent, MembershipFlag
from onboarding.services import membership_churn, membership_flag, membership_flag_resolve
from sla_portal.errors import DomainError, InvalidInput, InvalidTransition
from tests.work_screens import member

pytestmark = pytest.mark.django_db


def test_a_flag_goes_to_the_team_its_kind_names_with_an_event(users, agreement):
    # given
    m = member(users)
    # when
    upsell = membership_flag(membership=m, by=users["success"], kind="upsell", note="Wants the patron tier")
    nurture = membership_flag(membership=m, by=users["success"], kind="nurture")
    # then
    assert (upsell.to_team, upsell.status, upsell.note) == ("outreach", "open", "Wants the patron tier")
    assert nurture.to_team == "marketing"
    events = MembershipEvent.objects.filter(membership=m, kind="flagged").order_by("pk")
    assert [e.data["kind"] for e in events] == ["upsell", "nurture"]
    assert events[0].actor == users["success"] and events[0].note == "Wants the patron tier"


def test_the_same_open_flag_is_not_raised_twice(users, agreement):
    m = member(users)
    membership_flag(membership=m, by=users["success"], kind="upsell")
    with pytest.raises(DomainError, match="already flagged"):
        membership_flag(membership=m, by=users["success"], kind="upsell")
    assert MembershipFlag.objects.filter(membership=m).count() == 1
    assert MembershipEvent.objects.filter(membership=m, kind="flagged").count() == 1


def test_an_unknown_kind_is_invalid_input(users, agreement):
    m = member(users)
    with pytest.raises(InvalidInput) as exc:
        membership_flag(membership=m, by=users["success"], kind="gossip")
    assert "kind" in exc.value.errors
    assert not MembershipFlag.objects.exists()


def test_a_churned_member_cannot_be_flagged(users, agreement):
    m = member(users)
    membership_churn(membership=m, by=users["success"], reason="price")
    with pytest.raises(DomainError, match="churned"):
        membership_flag(membership=m, by=users["success"], kind="nurture")
    assert not MembershipFlag.objects.exists()


def test_closing_a_flag_records_who_and_what_and_allows_a_new_one(users, agreement):
    # given
    m = member(users)
    flag = membership_flag(membership=m, by=users["success"], kind="upsell")
    # when
    closed = membership_flag_resolve(flag=flag, by=users["rep"], note="Upsold to corporate")
    again = membership_flag(membership=m, by=users["success"], kind="upsell")
    # then
    assert (closed.status, closed.resolved_by, closed.resolution) == ("done", users["rep"], "Upsold to corporate")
    assert closed.resolved_at is not None
    event = MembershipEvent.objects.get(membership=m, kind="flag_done")
    assert (event.actor, event.data["flag"]) == (users["rep"], flag.pk)
    assert again.pk != flag.pk and again.status == "open"


def test_a_flag_is_closed_once(users, agreement):
    flag = membership_flag(membership=member(users), by=users["success"], kind="nurture")
    membership_flag_resolve(flag=flag, by=users["marketer"])
    with pytest.raises(InvalidTransition):
        membership_flag_resolve(flag=flag, by=users["marketer"], note="again")
    flag.refresh_from_db()
    assert flag.resolution == "" and MembershipEvent.objects.filter(kind="flag_done").count() == 1
