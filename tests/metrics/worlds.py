"""A small, hand-built month of work (March 2025), made through the real services at frozen times.

Every KPI test compares with a value worked out by hand from the timeline below, so the timeline is the spec:
change it and the hand-worked numbers in the tests must change with it.

Office calendar: Mon–Fri 09:00–17:00 Europe/London (GMT until Sun 30 March, BST after). First response: 4 working
hours. Onboarded within Z = 14 days. Times below are London wall-clock times.

Leads (Marketing → Outreach hand-offs)
  L1  MQL Fri 28 Feb; hand-off Mon 3 Mar 10:00; accepted 12:30 (2.5 h, due 14:00: met); converted Thu 20 Mar.
  L2  MQL Thu 6 Mar; hand-off Fri 7 Mar 16:00; accepted Mon 10 Mar 10:00 (1 h + 1 h = 2 h, due Mon 12:00: met);
      disqualified from SQL Fri 21 Mar.
  L3  no phone; MQL Mon 10 Mar; hand-off Tue 11 Mar 09:00 (incomplete); rejected 15:00 (6 h, due 13:00: missed);
      recycled Wed 12 Mar; MQL again Fri 14 Mar (same lead: still one MQL in March).
  L4  MQL Wed 12 Mar; hand-off Wed 12 Mar 20:00 (closed); accepted Thu 13 Mar 09:30 (0.5 h, due 13:00: met);
      one contact attempt Fri 14 Mar; converted Mon 24 Mar.
  L5  no phone; MQL Fri 28 Mar; hand-off Mon 31 Mar 16:00 BST (incomplete); accepted Tue 1 Apr 10:00
      (due Tue 1 Apr 12:00: an April deadline and an April decision).
  L6  MQL Thu 27 Mar; hand-off Thu 27 Mar 10:00; never answered (due 14:00: missed).
  L7  a prospect outside the Ideal Member Profile: never an MQL.

Members (onboarding deadline = signing + 14 days)
  W1  signed Thu 20 Feb 10:00 (due Thu 6 Mar); welcome sent Sat 1 Mar: met.
  W2  signed Sat 1 Mar 10:00 (due Sat 15 Mar 10:00); welcome sent Sun 16 Mar: missed. Engagement: 15 points
      on 20 Mar (inside its first 30 days), 10 more on 3 Apr.
  W3  signed Mon 10 Mar (due Mon 24 Mar); never onboarded: missed.
  W4  signed Mon 10 Feb (due 24 Feb): a February deadline.
  W5  signed Wed 5 Mar; churned Sat 8 Mar, before its deadline, never onboarded: left out.
  W6  signed Mon 3 Mar (due Mon 17 Mar); churned Thu 20 Mar, after its deadline, never onboarded: missed.
  M1, M4 (from L1, L4) signed 20 and 24 Mar: April deadlines.

Terms ending (renewal)
  R1  term ends Sat 15 Mar 2025; renewed early on Mon 10 Mar at 1,500 (signed at 1,200): renewed, an upsell.
  R2  term ends Thu 20 Mar 2025; churned Tue 25 Mar (price): not renewed.
  R3  term ends Fri 28 Mar 2025; nothing happened: not renewed (lapsed).
  R4  term ends Thu 10 Apr 2025: an April term end.
  R5  term ends Fri 28 Feb 2025, renewed Thu 20 Feb at the same value: a February term end.
  R6  signed Fri 1 Mar 2024, onboarded 4 Mar 2024, never engaged; term ends 1 Jun 2025.
  R1–R5 each earned 40 engagement points three days after signing (engaged).
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from handoffs.services import attempt_log, handoff_accept, handoff_create, handoff_reject
from leads.models import DisqualifyReason, Lead, RecycleReason, RejectReason, TouchpointKind
from leads.services import lead_disqualify, lead_recycle, touchpoint_record
from onboarding.models import ChurnReason, EngagementKind, Membership, MembershipType, OnboardingStep
from onboarding.services import (
    engagement_record,
    lead_convert,
    membership_churn,
    membership_mark_renewal_eligible,
    membership_renew,
    membership_sign,
    onboarding_task_complete,
)
from tests.factories import LeadFactory, make_mql

LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")
MARCH = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
EVALUATED_AT = datetime(2025, 4, 5, 12, 0, tzinfo=UTC)


def london(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def at(when: datetime):
    return time_machine.travel(when, tick=False)


@dataclass
class World:
    leads: dict[str, Lead] = field(default_factory=dict)
    members: dict[str, Membership] = field(default_factory=dict)


def _mql(when: datetime, **fields) -> Lead:
    with at(when):
        return make_mql(at=when, **fields)


def _handoff(lead: Lead, by, when: datetime):
    with at(when):
        return handoff_create(lead=lead, by=by)


def _sign(name: str, when: datetime, *, by, term_start: date, term_end: date, **extra) -> Membership:
    with at(when):
        return membership_sign(
            by=by,
            organisation=f"{name} Ltd",
            contact_name=name,
            email=f"{name.lower()}@example.net",
            membership_type=extra.pop("membership_type", MembershipType.SMALL_BUSINESS),
            contract_value=extra.pop("contract_value", 1200),
            term_start=term_start,
            term_end=term_end,
            **extra,
        )


def _welcome(member: Membership, by, when: datetime) -> None:
    with at(when):
        onboarding_task_complete(membership=member, step=OnboardingStep.WELCOME, by=by)


def _convert(lead: Lead, by, when: datetime, *, owner=None, membership_type=MembershipType.CORPORATE) -> Membership:
    with at(when):
        return lead_convert(
            lead=lead,
            by=by,
            membership_type=membership_type,
            contract_value=5000,
            term_start=when.date(),
            term_end=date(when.year + 1, when.month, 1),
            owner=owner,
        )


def build_march(users) -> World:
    """The timeline in the module docstring, through the services."""
    w = World()
    marketer, rep, success = users["marketer"], users["rep"], users["success"]

    # --- leads and hand-offs -----------------------------------------------------------------------------
    w.leads["L1"] = _mql(london(2025, 2, 28))
    h1 = _handoff(w.leads["L1"], marketer, london(2025, 3, 3, 10))
    with at(london(2025, 3, 3, 12, 30)):
        handoff_accept(handoff=h1, by=rep)

    w.leads["L2"] = _mql(london(2025, 3, 6))
    h2 = _handoff(w.leads["L2"], marketer, london(2025, 3, 7, 16))
    with at(london(2025, 3, 10, 10)):
        handoff_accept(handoff=h2, by=rep)

    w.leads["L3"] = _mql(london(2025, 3, 10), phone="")
    h3 = _handoff(w.leads["L3"], marketer, london(2025, 3, 11, 9))
    with at(london(2025, 3, 11, 15)):
        handoff_reject(handoff=h3, by=rep, reason=RejectReason.FIT)
    with at(london(2025, 3, 12)):
        lead_recycle(lead=w.leads["L3"], by=marketer, reason=RecycleReason.NEEDS_NURTURE)
    with at(london(2025, 3, 14)):
        touchpoint_record(lead=w.leads["L3"], kind=TouchpointKind.EVENT)

    w.leads["L4"] = _mql(london(2025, 3, 12))
    h4 = _handoff(w.leads["L4"], marketer, london(2025, 3, 12, 20))
    with at(london(2025, 3, 13, 9, 30)):
        handoff_accept(handoff=h4, by=rep)
    with at(london(2025, 3, 14, 11)):
        attempt_log(lead=w.leads["L4"], by=rep, channel="phone", outcome="connected")

    w.leads["L5"] = _mql(london(2025, 3, 28), phone="")
    h5 = _handoff(w.leads["L5"], marketer, london(2025, 3, 31, 16))
    with at(london(2025, 4, 1, 10)):
        handoff_accept(handoff=h5, by=rep)

    w.leads["L6"] = _mql(london(2025, 3, 27, 9))
    _handoff(w.leads["L6"], marketer, london(2025, 3, 27, 10))

    with at(london(2025, 3, 5)):
        w.leads["L7"] = LeadFactory(sector="Fishing")

    w.members["M1"] = _convert(w.leads["L1"], rep, london(2025, 3, 20), owner=success)
    with at(london(2025, 3, 21)):
        lead_disqualify(lead=w.leads["L2"], by=rep, reason=DisqualifyReason.NO_BUDGET)
    w.members["M4"] = _convert(w.leads["L4"], rep, london(2025, 3, 24), owner=success)

    # --- onboarding --------------------------------------------------------------------------------------
    year = dict(term_start=date(2025, 3, 1), term_end=date(2026, 3, 1))
    w.members["W1"] = _sign("Wone", london(2025, 2, 20), by=rep, **year)
    _welcome(w.members["W1"], success, london(2025, 3, 1))
    w.members["W2"] = _sign("Wtwo", london(2025, 3, 1), by=rep, **year)
    _welcome(w.members["W2"], success, london(2025, 3, 16))
    with at(london(2025, 3, 20)):
        engagement_record(membership=w.members["W2"], kind=EngagementKind.EVENT, points=15)
    with at(london(2025, 4, 3)):
        engagement_record(membership=w.members["W2"], kind=EngagementKind.WEBINAR, points=10)
    w.members["W3"] = _sign("Wthree", london(2025, 3, 10), by=rep, **year)
    w.members["W4"] = _sign("Wfour", london(2025, 2, 10), by=rep, **year)
    _welcome(w.members["W4"], success, london(2025, 2, 12))
    w.members["W5"] = _sign("Wfive", london(2025, 3, 5), by=rep, **year)
    with at(london(2025, 3, 8)):
        membership_churn(membership=w.members["W5"], by=success, reason=ChurnReason.BUSINESS_CLOSED)
    w.members["W6"] = _sign("Wsix", london(2025, 3, 3), by=rep, **year)
    with at(london(2025, 3, 20)):
        membership_churn(membership=w.members["W6"], by=success, reason=ChurnReason.ONBOARDING_DELAYED)

    # --- renewals ----------------------------------------------------------------------------------------
    def engaged_member(name, signed, term_end):
        member = _sign(name, signed, by=rep, term_start=signed.date(), term_end=term_end)
        _welcome(member, success, signed.replace(day=signed.day + 2))
        with at(signed.replace(day=signed.day + 3)):
            engagement_record(membership=member, kind=EngagementKind.COMMITTEE, points=40)
        return member

    w.members["R1"] = engaged_member("Rone", london(2024, 3, 15), date(2025, 3, 15))
    with at(london(2025, 2, 1)):
        membership_mark_renewal_eligible(membership=w.members["R1"])
    with at(london(2025, 3, 10)):
        membership_renew(membership=w.members["R1"], by=success, new_term_end=date(2026, 3, 15), contract_value=1500)
    w.members["R2"] = engaged_member("Rtwo", london(2024, 3, 20), date(2025, 3, 20))
    with at(london(2025, 3, 25)):
        membership_churn(membership=w.members["R2"], by=success, reason=ChurnReason.PRICE)
    w.members["R3"] = engaged_member("Rthree", london(2024, 3, 25), date(2025, 3, 28))
    w.members["R4"] = engaged_member("Rfour", london(2024, 4, 10), date(2025, 4, 10))
    w.members["R5"] = engaged_member("Rfive", london(2024, 2, 26), date(2025, 2, 28))
    with at(london(2025, 2, 1)):
        membership_mark_renewal_eligible(membership=w.members["R5"])
    with at(london(2025, 2, 20)):
        membership_renew(membership=w.members["R5"], by=success, new_term_end=date(2026, 2, 28))
    w.members["R6"] = _sign("Rsix", london(2024, 3, 1), by=rep, term_start=date(2024, 3, 1), term_end=date(2025, 6, 1))
    _welcome(w.members["R6"], success, london(2024, 3, 4))
    for member in w.members.values():
        member.refresh_from_db()
    for lead in w.leads.values():
        lead.refresh_from_db()
    return w
