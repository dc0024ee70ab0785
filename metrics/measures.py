"""The article's metrics beyond the KPI table, each one query (or two) in the database, each with its definition.

Like the KPIs they take a period [start, end); unlike them they accept a funnel segment (lead source, campaign,
membership type) so the dashboard's filters narrow them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Exists, F, FloatField, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from handoffs.models import ContactAttempt, Handoff
from leads.models import Lead, LeadEvent, LeadEventKind
from onboarding.models import EngagementActivity, Membership, MembershipEvent, MembershipEventKind, MemberState
from sla.models import Agreement

from .kpis import KpiValue, _rate

_CENT = Decimal("0.01")

MEASURE_DEFINITIONS: dict[str, str] = {
    "imp_share": "Of the leads created during the period, the % whose profile fits the Ideal Member Profile.",
    "scoring_accuracy": (
        "Lead-scoring accuracy: of the leads that qualified as MQL during the period, the % that Outreach has since "
        "accepted as SQL or that became members."
    ),
    "cost_per_mql": (
        "Money entered for campaigns in the months starting in the period, divided by the MQLs those campaigns "
        "delivered in the period. Only campaigns with a cost entered count."
    ),
    "attempts_per_sql": (
        "Of the SQLs accepted during the period, the average number of contact attempts logged in their first "
        "14 days after acceptance."
    ),
    "engagement_30_60_90": (
        "Average engagement points new members earned within 30, 60 and 90 days of signing, over the members "
        "signed in the period whose 30/60/90-day window has already ended."
    ),
    "member_signups": "Memberships signed during the period (converted leads and direct sign-ups).",
    "handoff_to_member": (
        "Of the Marketing → Outreach hand-offs made during the period, the % whose lead is now an active "
        "(not churned) member. Recent hand-offs are still in progress, so recent periods rise over time."
    ),
    "engaged_within_window": (
        "Of the new members whose engagement window (signing + the agreement's window, 90 days by default) ended "
        "during the period, the % that reached the engagement threshold within it."
    ),
    "upsell_rate": (
        "Of the members who renewed during the period, the % whose contract value is now above the value they "
        "signed at."
    ),
    "nps": (
        "Net Promoter Score of members onboarded during the period who answered: % promoters (9–10) minus "
        "% detractors (0–6), from −100 to 100."
    ),
}


@dataclass(frozen=True)
class Segment:
    source: str = ""
    campaign: str = ""
    membership_type: str = ""

    def lead_q(self, path: str) -> Q:
        """Narrow rows that reach a lead through `path` ("" for Lead itself, "lead__" for a hand-off)."""
        q = Q()
        if self.source:
            q &= Q(**{f"{path}source": self.source})
        if self.campaign:
            q &= Q(**{f"{path}campaign": self.campaign})
        return q

    def member_q(self, path: str = "") -> Q:
        q = self.lead_q(f"{path}lead__")
        if self.membership_type:
            q &= Q(**{f"{path}membership_type": self.membership_type})
        return q

    @property
    def is_set(self) -> bool:
        return bool(self.source or self.campaign or self.membership_type)


ALL = Segment()


def imp_share(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    totals = Lead.objects.filter(segment.lead_q(""), created_at__gte=start, created_at__lt=end).aggregate(
        n=Count("pk"), fit=Count("pk", filter=Q(imp_fit=True))
    )
    return _rate(totals["fit"], totals["n"])


def scoring_accuracy(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    later = LeadEvent.objects.filter(
        lead=OuterRef("lead"),
        kind__in=[LeadEventKind.HANDOFF_ACCEPTED, LeadEventKind.CONVERTED],
        at__gte=OuterRef("at"),
    )
    # Subqueries sit inside the aggregates, not in annotations: Django prunes an annotation that only an
    # aggregate's filter uses when it wraps the query, and the filter would then test a bare column name.
    totals = LeadEvent.objects.filter(
        segment.lead_q("lead__"), kind=LeadEventKind.MQL_QUALIFIED, at__gte=start, at__lt=end
    ).aggregate(n=Count("lead", distinct=True), advanced=Count("lead", distinct=True, filter=Q(Exists(later))))
    return _rate(totals["advanced"], totals["n"])


def attempts_per_sql(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    accepted = Q(
        kind=Handoff.Kind.TO_OUTREACH, status=Handoff.Status.ACCEPTED, decided_at__gte=start, decided_at__lt=end
    )
    sqls = Handoff.objects.filter(segment.lead_q("lead__"), accepted).count()
    # One filter() call: the attempt and its lead's accepted hand-off are the same join, so each attempt is
    # compared with the acceptance of its own lead (a lead is accepted at most once).
    attempts = ContactAttempt.objects.filter(
        segment.lead_q("lead__"),
        lead__handoffs__kind=Handoff.Kind.TO_OUTREACH,
        lead__handoffs__status=Handoff.Status.ACCEPTED,
        lead__handoffs__decided_at__gte=start,
        lead__handoffs__decided_at__lt=end,
        at__gte=F("lead__handoffs__decided_at"),
        at__lt=F("lead__handoffs__decided_at") + timedelta(days=14),
    ).count()
    if not sqls:
        return KpiValue(value=None, numerator=Decimal(attempts), denominator=Decimal(0))
    value = (Decimal(attempts) / sqls).quantize(_CENT, rounding=ROUND_HALF_UP)
    return KpiValue(value=value, numerator=Decimal(attempts), denominator=Decimal(sqls))


def engagement_at_days(
    *, start: datetime, end: datetime, segment: Segment = ALL, days: tuple[int, ...] = (30, 60, 90)
) -> dict[int, KpiValue]:
    """Average points within N days of signing, for members whose N-day window has closed; one query."""
    now = timezone.now()
    aggregates = {}
    for n in days:
        earned = (
            EngagementActivity.objects.filter(
                membership=OuterRef("pk"), at__lt=OuterRef("signed_at") + timedelta(days=n)
            )
            .order_by()
            .values("membership")
            .annotate(p=Sum("points"))
            .values("p")
        )
        closed = Q(signed_at__lte=now - timedelta(days=n))
        aggregates[f"avg{n}"] = Avg(
            Coalesce(Subquery(earned, output_field=IntegerField()), Value(0)), filter=closed, output_field=FloatField()
        )
        aggregates[f"n{n}"] = Count("pk", filter=closed)
    totals = Membership.objects.filter(segment.member_q(), signed_at__gte=start, signed_at__lt=end).aggregate(
        **aggregates
    )
    result = {}
    for n in days:
        avg = totals[f"avg{n}"]
        result[n] = KpiValue(
            value=Decimal(str(avg)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if avg is not None else None,
            numerator=None,
            denominator=Decimal(totals[f"n{n}"]),
        )
    return result


def member_signups(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    n = Membership.objects.filter(segment.member_q(), signed_at__gte=start, signed_at__lt=end).count()
    return KpiValue(value=Decimal(n), numerator=Decimal(n), denominator=None)


def handoff_to_member(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    active = Membership.objects.filter(lead=OuterRef("lead")).exclude(state=MemberState.CHURNED)
    if segment.membership_type:
        active = active.filter(membership_type=segment.membership_type)
    totals = Handoff.objects.filter(
        segment.lead_q("lead__"), kind=Handoff.Kind.TO_OUTREACH, created_at__gte=start, created_at__lt=end
    ).aggregate(n=Count("pk"), active=Count("pk", filter=Q(Exists(active))))
    return _rate(totals["active"], totals["n"])


def engaged_within_window(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    """Deadline cohort like onboarding: judged when each member's window closes, by their own version's window."""
    until = min(end, timezone.now())
    due_q, met_q = Q(pk__in=[]), Q(pk__in=[])
    for pk, days in Agreement.objects.values_list("pk", "engagement_window_days"):
        window = timedelta(days=days)
        due_q |= Q(agreement_id=pk, signed_at__gte=start - window, signed_at__lt=until - window)
        met_q |= Q(agreement_id=pk, engaged_at__lte=F("signed_at") + window)
    totals = Membership.objects.filter(segment.member_q(), due_q).aggregate(
        n=Count("pk"), met=Count("pk", filter=met_q)
    )
    return _rate(totals["met"], totals["n"])


def upsell_rate(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    signed_value = Subquery(
        MembershipEvent.objects.filter(membership=OuterRef("membership"), kind=MembershipEventKind.SIGNED)
        .annotate(v=Cast(KT("data__value"), output_field=Membership._meta.get_field("contract_value")))
        .values("v")[:1]
    )
    totals = MembershipEvent.objects.filter(
        segment.member_q("membership__"), kind=MembershipEventKind.RENEWED, at__gte=start, at__lt=end
    ).aggregate(
        n=Count("membership", distinct=True),
        up=Count("membership", distinct=True, filter=Q(membership__contract_value__gt=signed_value)),
    )
    return _rate(totals["up"], totals["n"])


def nps(*, start: datetime, end: datetime, segment: Segment = ALL) -> KpiValue:
    totals = Membership.objects.filter(
        segment.member_q(), onboarded_at__gte=start, onboarded_at__lt=end, nps__isnull=False
    ).aggregate(
        n=Count("pk"), promoters=Count("pk", filter=Q(nps__gte=9)), detractors=Count("pk", filter=Q(nps__lte=6))
    )
    if not totals["n"]:
        return KpiValue(value=None, numerator=Decimal(0), denominator=Decimal(0))
    net = totals["promoters"] - totals["detractors"]
    value = (Decimal(net) * 100 / totals["n"]).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return KpiValue(value=value, numerator=Decimal(net), denominator=Decimal(totals["n"]))
