"""The article's other metrics and the shared goals, on the hand-built March of tests/metrics/worlds.py."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from metrics import measures
from metrics.goals import scorecards_build
from metrics.kpis import KpiValue
from metrics.measures import Segment
from metrics.models import GoalMetric, SharedGoal
from onboarding.models import Membership
from sla.models import Comparator

from .worlds import EVALUATED_AT, MARCH, UTC, at, build_march

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(users, agreement):
    return build_march(users)


def in_march(fn, **kwargs) -> KpiValue:
    with at(EVALUATED_AT):
        return fn(start=MARCH[0], end=MARCH[1], **kwargs)


def test_imp_share_is_fitting_leads_over_leads_created(march):
    # given L2–L7 created in March, L7 outside the profile
    # when / then 5 / 6
    assert in_march(measures.imp_share).value == Decimal("83.33")


def test_scoring_accuracy_follows_march_mqls_to_acceptance_or_membership(march):
    # given March MQLs L2 (accepted), L3 (rejected, re-qualified), L4 (accepted), L5 (accepted 1 Apr), L6 (pending)
    # when / then 3 / 5
    assert in_march(measures.scoring_accuracy) == KpiValue(Decimal("60.00"), Decimal(3), Decimal(5))


def test_attempts_per_sql_counts_the_first_fourteen_days(march):
    # given SQLs accepted in March: L1, L2, L4; one attempt on L4
    # when / then 1 / 3
    assert in_march(measures.attempts_per_sql) == KpiValue(Decimal("0.33"), Decimal(1), Decimal(3))


def test_engagement_at_30_days_averages_members_whose_window_closed(march):
    # given March sign-ups whose 30 days ended by 5 April: W2 (15 points in time, 10 after), W5, W6 (none)
    # when
    result = in_march(measures.engagement_at_days)
    # then 15 / 3; no 60- or 90-day window has closed yet
    assert result[30] == KpiValue(Decimal("5.0"), None, Decimal(3))
    assert result[60].value is None and result[90].value is None


def test_handoff_to_member_is_active_members_over_handoffs_made(march):
    # given six March hand-offs, L1 and L4 now members
    # when / then 2 / 6
    assert in_march(measures.handoff_to_member).value == Decimal("33.33")
    assert in_march(measures.handoff_to_member, segment=Segment(membership_type="patron")).value == Decimal("0.00")


def test_engaged_within_window_judges_members_whose_window_ended(march):
    # given 90-day windows ending in May 2024: R5 (engaged in 3 days) and R6 (never)
    # when
    with at(EVALUATED_AT):
        result = measures.engaged_within_window(
            start=datetime(2024, 5, 1, tzinfo=UTC), end=datetime(2024, 6, 1, tzinfo=UTC)
        )
    # then 1 / 2
    assert result == KpiValue(Decimal("50.00"), Decimal(1), Decimal(2))


def test_upsell_rate_compares_renewed_value_with_signed_value(march):
    # given renewals in February and March: R5 at the same value, R1 from 1,200 to 1,500
    # when
    with at(EVALUATED_AT):
        result = measures.upsell_rate(start=datetime(2025, 2, 1, tzinfo=UTC), end=MARCH[1])
    # then 1 / 2
    assert result == KpiValue(Decimal("50.00"), Decimal(1), Decimal(2))


def test_nps_is_promoters_minus_detractors(march):
    # given NPS answers of the two members onboarded in March (no service records NPS yet, so set directly)
    Membership.objects.filter(pk=march.members["W1"].pk).update(nps=10)
    Membership.objects.filter(pk=march.members["W2"].pk).update(nps=3)
    # when / then (1 promoter − 1 detractor) / 2 answers
    assert in_march(measures.nps) == KpiValue(Decimal("0"), Decimal(0), Decimal(2))


def test_member_signups_and_segments(march):
    # given M1, M4 (corporate), W2, W3, W5, W6 (small business) signed in March
    # when / then
    assert in_march(measures.member_signups).value == 6
    assert in_march(measures.member_signups, segment=Segment(membership_type="corporate")).value == 2
    assert in_march(measures.member_signups, segment=Segment(source="webinar")).value == 2


@pytest.mark.parametrize(
    ("comparator", "target", "value", "expected"),
    [
        (Comparator.AT_LEAST, "80", "60", "75.0"),
        (Comparator.AT_LEAST, "80", "96", "100.0"),  # capped
        (Comparator.AT_MOST, "4", "5", "80.0"),  # target ÷ value
        (Comparator.AT_MOST, "4", "3", "100.0"),
        (Comparator.AT_LEAST, "80", None, None),
    ],
)
def test_goal_attainment(comparator, target, value, expected):
    # given
    goal = SharedGoal(metric=GoalMetric.RENEWAL_RATE, comparator=comparator, target=Decimal(target), weight=20)
    # when
    result = goal.attainment(Decimal(value) if value else None)
    # then
    assert result == (Decimal(expected) if expected else None)


def test_scorecard_weights_attainment_over_measured_goals(march, agreement, teams):
    # given Marketing: 60 % on MQL acceptance ≥ 80 (75 in March: 93.75 %), 20 % on renewal ≥ 50 (33.33: 66.7 %),
    # 20 % on NPS ≥ 30 (nobody answered: not measured)
    marketing = teams["marketing"]
    for metric, target, weight in (
        (GoalMetric.MQL_ACCEPTANCE_RATE, "80", 60),
        (GoalMetric.RENEWAL_RATE, "50", 20),
        (GoalMetric.NPS, "30", 20),
    ):
        SharedGoal.objects.create(
            agreement=agreement, team=marketing, metric=metric, target=Decimal(target), weight=weight
        )
    goals = list(SharedGoal.objects.select_related("team"))
    # when
    with at(EVALUATED_AT):
        [card] = scorecards_build(goals=goals, day=datetime(2025, 3, 31).date())
    # then (93.8 × 60 + 66.7 × 20) / 80
    attainments = {line.goal.metric: line.attainment for line in card.lines}
    assert attainments == {
        GoalMetric.MQL_ACCEPTANCE_RATE: Decimal("93.8"),
        GoalMetric.RENEWAL_RATE: Decimal("66.7"),
        GoalMetric.NPS: None,
    }
    assert card.measured_weight == 80 and card.weight_total == 100
    assert card.score == Decimal("87.0")


def test_a_teams_weights_cannot_pass_100(agreement, teams):
    # given
    SharedGoal.objects.create(
        agreement=agreement, team=teams["marketing"], metric=GoalMetric.MQL_VOLUME, target=40, weight=90
    )
    goal = SharedGoal(agreement=agreement, team=teams["marketing"], metric=GoalMetric.NPS, target=30, weight=20)
    # when / then
    with pytest.raises(ValidationError, match="110"):
        goal.full_clean()
