"""`make demo` loads its history once, through the services, with work in every queue."""

import pytest
from django.core.management import call_command

from accounts.models import User
from handoffs.models import Handoff
from leads.models import Lead, LeadState
from onboarding.models import Membership
from sla.models import Agreement, Clock, ClockState, Escalation

pytestmark = pytest.mark.django_db


def test_seed_is_loaded_once_with_work_in_every_queue(capsys):
    # when
    call_command("seed_demo", days=45, leads_per_day=2.5)
    counts = (User.objects.count(), Lead.objects.count(), Membership.objects.count(), Escalation.objects.count())
    call_command("seed_demo", days=45, leads_per_day=2.5)
    # then: the second run changes nothing
    assert (User.objects.count(), Lead.objects.count(), Membership.objects.count(), Escalation.objects.count()) == (
        counts
    )
    output = capsys.readouterr().out
    assert "Demo data already loaded" in output and "marketing.lead" in output and "demo1234" in output
    # one login per role and team, and an active signed agreement
    assert User.objects.filter(username__in=["admin", "marketing", "outreach.lead", "success.head"]).count() == 4
    assert Agreement.objects.get(status=Agreement.Status.ACTIVE).sign_offs.count() == 3
    # today's desks: MQLs on their clock, pending hand-offs, new members; some clocks breached, some in warning
    assert Lead.objects.filter(state=LeadState.MQL).count() >= 5
    assert Handoff.objects.filter(status=Handoff.Status.PENDING).count() >= 5
    assert Membership.objects.filter(state__in=["signed", "onboarding"]).exists()
    assert Clock.objects.filter(state=ClockState.BREACHED).exists()
    assert Clock.objects.filter(state=ClockState.RUNNING, warned_at__isnull=False).exists()
