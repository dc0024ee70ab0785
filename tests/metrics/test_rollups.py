"""Daily rollups: built from the events, refreshed incrementally, identical whether read stored or built live."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from handoffs.services import attempt_log
from metrics.models import DailyRollup, RollupState
from metrics.rollups import Measure, rollup_rows_build, rollup_rows_read, rollups_refresh
from metrics.selectors import Rollups, hist_quantile, hist_within

from .worlds import EVALUATED_AT, UTC, at, build_march, london

pytestmark = pytest.mark.django_db

MARCH_DAYS = (date(2025, 3, 1), date(2025, 4, 1))


@pytest.fixture
def march(users, agreement):
    return build_march(users)


def _as_tuples(rows):
    return sorted(
        (r.day, r.measure, r.source, r.campaign, r.membership_type, r.reason, r.count, r.minutes) for r in rows
    )


def test_march_funnel_counts_and_durations_match_the_timeline(march):
    # given the hand-built March
    # when
    with at(EVALUATED_AT):
        r = Rollups(rollup_rows_build(since=MARCH_DAYS[0], until=MARCH_DAYS[1]))
    # then entries per stage (see tests/metrics/worlds.py)
    counts = {m: r.count(m) for m in (Measure.PROSPECT, Measure.MQL, Measure.SQL, Measure.MEMBER, Measure.ONBOARDED)}
    assert counts == {Measure.PROSPECT: 6, Measure.MQL: 6, Measure.SQL: 3, Measure.MEMBER: 6, Measure.ONBOARDED: 2}
    assert r.count(Measure.ENGAGED) == 0 and r.count(Measure.RENEWED) == 1
    assert r.count(Measure.REJECTED, reason="fit") == 1
    assert r.grouped(Measure.CHURNED, "reason") == {("business_closed",): 1, ("onboarding_delayed",): 1, ("price",): 1}
    assert r.count(Measure.HANDOFF) == 6 and r.count(Measure.HANDOFF_COMPLETE) == 4
    assert r.total(Measure.HANDOFF) == Decimal(12)  # two touchpoints before each hand-off
    assert r.count(Measure.ATTEMPT) == 1 and r.count(Measure.SQL_LOST, reason="no_budget") == 1
    assert r.count(Measure.SQL_RECYCLED) == 0  # L3 was recycled after a rejection, not after acceptance
    # first response in business minutes: L4 30, L2 120, L1 150, L3 360
    fr = r.hist(Measure.FIRST_RESPONSE)
    assert fr == {30: 1, 120: 1, 150: 1, 360: 1}
    assert hist_quantile(fr, 0.5) == Decimal(135)  # 2.25 working hours, the KPI's median
    assert hist_within(fr, 60) == (1, 4) and hist_within(fr, 240) == (3, 4)
    assert r.count(Measure.FIRST_RESPONSE, reason="met") == 3
    # MQL → accepted: L4 23.5 h, L1 3 d 2.5 h, L2 4 d; median is L1's
    assert hist_quantile(r.hist(Measure.SQL), 0.5) == Decimal(3 * 1440 + 150)
    # accepted → signed: L4 11 d 0.5 h, L1 16 d 21.5 h; median is their mean
    assert hist_quantile(r.hist(Measure.WON), 0.5) == Decimal((15870 + 24330) / 2)
    # re-qualification of L3 counts from its recycle two days earlier
    assert r.hist(Measure.MQL) == {0: 5, 2880: 1}


def test_refresh_stores_what_the_live_build_computes(march):
    # given
    with at(EVALUATED_AT):
        live = rollup_rows_build(since=MARCH_DAYS[0], until=MARCH_DAYS[1])
        # when
        rebuilt = rollups_refresh()
        stored = rollup_rows_read(since=MARCH_DAYS[0], until=MARCH_DAYS[1])
    # then every day with events was built, and reading March now touches only stored rows
    assert rebuilt > 20
    assert stored.live_from is None
    assert _as_tuples(stored.rows) == _as_tuples(live)
    state = RollupState.objects.get()
    assert state.fresh_from == date(2025, 4, 5)


def test_refresh_rebuilds_only_days_touched_by_new_events_including_back_dated_ones(march, users):
    # given a refresh on 5 April
    with at(EVALUATED_AT):
        rollups_refresh()
    march_rows = DailyRollup.objects.filter(day__lt=date(2025, 4, 1)).count()
    # when an attempt on L5 dated 2 April is logged on 8 April, and the refresh runs again
    with at(datetime(2025, 4, 8, 9, tzinfo=UTC)):
        attempt_log(lead=march.leads["L5"], by=users["rep"], channel="email", outcome="sent", at=london(2025, 4, 2, 11))
        rebuilt = rollups_refresh()
    # then 2 April (new event) and 5–7 April (read live until now) were rebuilt; March was left alone
    assert rebuilt == 4
    assert DailyRollup.objects.filter(day=date(2025, 4, 2), measure=Measure.ATTEMPT).get().count == 1
    assert DailyRollup.objects.filter(day__lt=date(2025, 4, 1)).count() == march_rows


def test_refresh_twice_changes_nothing(march):
    # given
    with at(EVALUATED_AT):
        rollups_refresh()
        before = list(DailyRollup.objects.values_list("day", "measure", "source", "reason", "count").order_by("pk"))
        # when
        rollups_refresh()
    # then
    after = list(DailyRollup.objects.values_list("day", "measure", "source", "reason", "count").order_by("pk"))
    assert sorted(after) == sorted(before)


def test_read_mixes_stored_days_and_live_days_without_double_counting(march, users):
    # given rollups refreshed on 31 March, then more work on the 31st and 1 April
    with at(datetime(2025, 3, 31, 6, tzinfo=UTC)):
        rollups_refresh()
    # when March + the first days of April are read on 5 April without another refresh
    with at(EVALUATED_AT):
        read = rollup_rows_read(since=MARCH_DAYS[0], until=date(2025, 4, 5))
    # then days up to 30 March came from the table and the rest was built live, and the totals are whole
    assert read.live_from == date(2025, 3, 31)
    r = Rollups(read.rows)
    assert r.count(Measure.HANDOFF) == 6  # L5's hand-off on the 31st is in the live part
    assert r.count(Measure.SQL) == 4  # L5 accepted on 1 April


def test_segment_filter_keeps_lead_stages_when_narrowing_membership_type(march):
    # given
    # when
    with at(EVALUATED_AT):
        read = rollup_rows_read(since=MARCH_DAYS[0], until=MARCH_DAYS[1], membership_type="corporate")
    r = Rollups(read.rows)
    # then the lead stages are whole; members are only the two corporate conversions (M1, M4)
    assert r.count(Measure.MQL) == 6
    assert r.count(Measure.MEMBER) == 2
