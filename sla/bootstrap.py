"""The starting agreement: the article's one-page template with sensible numbers filled in.

Used by the demo data and by tests, so both run on the same terms an organisation would start from."""

from datetime import date, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, Team, TeamKind, User

from .models import (
    DEFAULT_REQUIRED_HANDOFF_FIELDS,
    Agreement,
    BusinessCalendar,
    Commitment,
    CommitmentTerm,
    Comparator,
    DurationUnit,
    KpiMetric,
    KpiTarget,
    ReviewFrequency,
    WorkingHours,
)
from .services import agreement_activate, agreement_draft, agreement_sign

TEAM_NAMES = {
    TeamKind.MARKETING: "Marketing",
    TeamKind.OUTREACH: "Outreach",
    TeamKind.MEMBER_SUCCESS: "Member Success",
    TeamKind.REVOPS: "RevOps",
}

# commitment: (owner team, amount, unit, calendar, warn %, required count, pausable)
DEFAULT_TERMS = {
    Commitment.MQL_HANDOFF: (TeamKind.MARKETING, 24, DurationUnit.HOURS, "24/7", 75, 1, False),
    Commitment.FIRST_RESPONSE: (TeamKind.OUTREACH, 4, DurationUnit.HOURS, "office", 75, 1, False),
    Commitment.FOLLOW_UP: (TeamKind.OUTREACH, 10, DurationUnit.BUSINESS_DAYS, "office", 70, 3, True),
    Commitment.DECISION: (TeamKind.OUTREACH, 30, DurationUnit.BUSINESS_DAYS, "office", 80, 1, True),
    Commitment.ONBOARDING_START: (TeamKind.MEMBER_SUCCESS, 5, DurationUnit.BUSINESS_DAYS, "office", 60, 1, False),
    Commitment.WELCOME: (TeamKind.MEMBER_SUCCESS, 10, DurationUnit.BUSINESS_DAYS, "office", 70, 1, False),
    Commitment.CRM_UPDATE: (TeamKind.OUTREACH, 24, DurationUnit.HOURS, "24/7", 75, 1, False),
    Commitment.RENEWAL_OUTREACH: (TeamKind.MEMBER_SUCCESS, 10, DurationUnit.BUSINESS_DAYS, "office", 70, 1, False),
}

# (team, metric, comparator, target, frequency)
DEFAULT_KPIS = [
    (TeamKind.MARKETING, KpiMetric.MQL_VOLUME, Comparator.AT_LEAST, 40, ReviewFrequency.MONTHLY),
    (TeamKind.MARKETING, KpiMetric.MQL_ACCEPTANCE_RATE, Comparator.AT_LEAST, 70, ReviewFrequency.MONTHLY),
    (TeamKind.MARKETING, KpiMetric.HANDOFF_COMPLETENESS, Comparator.AT_LEAST, 90, ReviewFrequency.MONTHLY),
    (TeamKind.OUTREACH, KpiMetric.FIRST_RESPONSE_HOURS, Comparator.AT_MOST, 4, ReviewFrequency.MONTHLY),
    (TeamKind.OUTREACH, KpiMetric.SQL_TO_MEMBER_RATE, Comparator.AT_LEAST, 25, ReviewFrequency.MONTHLY),
    (TeamKind.MEMBER_SUCCESS, KpiMetric.ONBOARDED_WITHIN_TARGET, Comparator.AT_LEAST, 90, ReviewFrequency.MONTHLY),
    (TeamKind.MEMBER_SUCCESS, KpiMetric.RENEWAL_RATE, Comparator.AT_LEAST, 80, ReviewFrequency.QUARTERLY),
]


def teams_ensure() -> dict[str, Team]:
    return {
        kind: Team.objects.get_or_create(kind=kind, defaults={"name": name})[0] for kind, name in TEAM_NAMES.items()
    }


def calendars_ensure(*, time_zone: str = "Europe/London", holiday_country: str = "GB") -> dict[str, BusinessCalendar]:
    always, _ = BusinessCalendar.objects.get_or_create(
        name="24/7", defaults={"time_zone": time_zone, "always_open": True}
    )
    office, created = BusinessCalendar.objects.get_or_create(
        name="Office hours", defaults={"time_zone": time_zone, "holiday_country": holiday_country}
    )
    if created:
        WorkingHours.objects.bulk_create(
            WorkingHours(calendar=office, weekday=day, start=time(9), end=time(17)) for day in range(5)
        )
    return {"24/7": always, "office": office}


@transaction.atomic
def agreement_bootstrap(
    *, signers: dict[str, User], by: User | None = None, on: date | None = None, **overrides
) -> Agreement:
    """Draft, sign (one signer per party) and activate the template agreement."""
    teams = teams_ensure()
    calendars = calendars_ensure()
    on = on or timezone.localdate()
    fields = {
        "review_date": on + timedelta(days=90),
        "imp_sectors": ["Manufacturing", "Professional services", "Technology", "Hospitality", "Retail"],
        "imp_regions": [],
        "imp_min_employees": 5,
        "required_handoff_fields": list(DEFAULT_REQUIRED_HANDOFF_FIELDS),
        "max_incomplete_handoff_pct": Decimal("10"),
        "escalation_calendar": calendars["office"],
        **overrides,
    }
    agreement = agreement_draft(by=by, **fields)
    parties = [teams[TeamKind.MARKETING], teams[TeamKind.OUTREACH], teams[TeamKind.MEMBER_SUCCESS]]
    agreement.parties.set(parties)
    CommitmentTerm.objects.bulk_create(
        CommitmentTerm(
            agreement=agreement,
            commitment=c,
            owner_team=team,
            amount=amount,
            unit=unit,
            calendar=calendars[cal],
            warn_at_pct=warn,
            required_count=count,
            pausable=pausable,
        )
        for c, (team, amount, unit, cal, warn, count, pausable) in DEFAULT_TERMS.items()
    )
    KpiTarget.objects.bulk_create(
        KpiTarget(
            agreement=agreement, team=teams[team], metric=metric, comparator=cmp, target=Decimal(target), frequency=freq
        )
        for team, metric, cmp, target, freq in DEFAULT_KPIS
    )
    for team in parties:
        agreement_sign(agreement=agreement, team=team, by=signers[team.kind], on=on)
    return agreement_activate(agreement=agreement, by=by, summary=f"v{agreement.version} adopted")


def user_ensure(
    *,
    username: str,
    team: Team | None,
    role: str,
    first_name: str,
    last_name: str,
    password: str | None = None,
    **extra,
) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "team": team,
            "role": role,
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@example.org",
            **extra,
        },
    )
    if created and password:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


__all__ = ["agreement_bootstrap", "calendars_ensure", "teams_ensure", "user_ensure", "Role"]
