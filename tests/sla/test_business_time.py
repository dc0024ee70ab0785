"""Tests for sla.business_time: SLA deadlines in business time.

Expected values are hand-worked and written as literal local wall-clock times
(aware datetimes compare by instant, so a local literal equals the UTC result).
Reference dates: 2026-06-01 is a Monday; 2026-12-25 is a Friday; DST changes are
on Sundays: Berlin 2026-03-29 / 2026-10-25, New York 2026-03-08 / 2026-11-01.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.business_time import BusinessCalendarSpec, WorkingWindow

LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

LONDON_OFFICE = BusinessCalendarSpec.office_hours(tz="Europe/London")  # Mon–Fri 09:00–17:00
BERLIN_OFFICE = BusinessCalendarSpec.office_hours(tz="Europe/Berlin")
NEW_YORK_OFFICE = BusinessCalendarSpec.office_hours(tz="America/New_York")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def daily(tz: str, start: time, end: time) -> BusinessCalendarSpec:
    """Same window on all seven days, so the DST Sundays themselves are working days."""
    return BusinessCalendarSpec.office_hours(tz=tz, start=start, end=end, weekdays=range(7))


# -- add(): office hours ---------------------------------------------------------------------------


def test_add_within_one_day():
    # given Monday 10:00 in London
    start = datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, hours(3))
    # then
    assert deadline == datetime(2026, 6, 1, 13, 0, tzinfo=LONDON)


def test_add_crossing_closing_time_continues_next_morning():
    # given Monday 15:00: 2 h left today
    start = datetime(2026, 6, 1, 15, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, hours(4))
    # then the other 2 h run Tuesday 09:00–11:00
    assert deadline == datetime(2026, 6, 2, 11, 0, tzinfo=LONDON)


def test_add_friday_afternoon_rolls_over_weekend_to_monday():
    # given Friday 16:00: 1 h left this week
    start = datetime(2026, 6, 5, 16, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, hours(2))
    # then the second hour is Monday 09:00–10:00
    assert deadline == datetime(2026, 6, 8, 10, 0, tzinfo=LONDON)


def test_add_starting_on_saturday_counts_from_monday_opening():
    # given Saturday noon
    start = datetime(2026, 6, 6, 12, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, hours(1))
    # then
    assert deadline == datetime(2026, 6, 8, 10, 0, tzinfo=LONDON)


def test_add_starting_before_opening_counts_from_opening():
    # given Monday 07:30
    start = datetime(2026, 6, 1, 7, 30, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, timedelta(hours=1, minutes=30))
    # then 09:00 + 1:30
    assert deadline == datetime(2026, 6, 1, 10, 30, tzinfo=LONDON)


def test_add_starting_after_closing_counts_from_next_opening():
    # given Monday 18:00
    start = datetime(2026, 6, 1, 18, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, hours(1))
    # then Tuesday 09:00 + 1 h
    assert deadline == datetime(2026, 6, 2, 10, 0, tzinfo=LONDON)


def test_add_skips_christmas_holiday_in_the_middle():
    # given Christmas Day (Friday 2026-12-25) is a holiday; start Thursday 24th 15:00
    calendar = BusinessCalendarSpec.office_hours(tz="Europe/London", holidays={date(2026, 12, 25)})
    start = datetime(2026, 12, 24, 15, 0, tzinfo=LONDON)
    # when
    deadline = calendar.add(start, hours(4))
    # then 2 h on Thursday, Friday holiday, weekend, 2 h on Monday 28th
    assert deadline == datetime(2026, 12, 28, 11, 0, tzinfo=LONDON)


def test_deadline_landing_exactly_on_closing_time_returns_closing_instant():
    # given Monday 13:00 with exactly 4 h left today
    start = datetime(2026, 6, 1, 13, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, hours(4))
    # then Monday 17:00, not Tuesday 09:00
    assert deadline == datetime(2026, 6, 1, 17, 0, tzinfo=LONDON)


def test_full_friday_ends_friday_at_closing_not_monday_morning():
    # given Friday 09:00
    start = datetime(2026, 6, 5, 9, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, hours(8))
    # then
    assert deadline == datetime(2026, 6, 5, 17, 0, tzinfo=LONDON)


def test_add_zero_duration_returns_start_in_utc_even_when_closed():
    # given Saturday noon London (BST, UTC+1)
    start = datetime(2026, 6, 6, 12, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add(start, timedelta(0))
    # then
    assert deadline == datetime(2026, 6, 6, 11, 0, tzinfo=UTC)
    assert deadline.tzinfo is UTC


def test_results_are_utc():
    # given a London start
    start = datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
    # when / then every returned instant is in UTC
    assert LONDON_OFFICE.add(start, hours(1)).tzinfo is UTC
    assert LONDON_OFFICE.next_open(start).tzinfo is UTC
    assert LONDON_OFFICE.add_business_days(start, 1).tzinfo is UTC
    assert BusinessCalendarSpec.always_open("Europe/London").add(start, hours(1)).tzinfo is UTC


def test_split_lunch_window():
    # given Berlin Mon–Fri 09:00–12:00 and 13:00–17:00 (listed out of order on purpose)
    windows = tuple(WorkingWindow(d, time(13), time(17)) for d in range(5)) + tuple(
        WorkingWindow(d, time(9), time(12)) for d in range(5)
    )
    calendar = BusinessCalendarSpec(tz="Europe/Berlin", windows=windows)
    monday = 1  # 2026-06-01
    # when / then
    assert calendar.add(datetime(2026, 6, monday, 11, tzinfo=BERLIN), hours(1)) == datetime(
        2026, 6, 1, 12, tzinfo=BERLIN
    )  # ends at the lunch closing instant
    assert calendar.add(datetime(2026, 6, monday, 11, tzinfo=BERLIN), hours(2)) == datetime(
        2026, 6, 1, 14, tzinfo=BERLIN
    )  # 11–12, then 13–14
    assert calendar.add(datetime(2026, 6, monday, 12, 30, tzinfo=BERLIN), hours(1)) == datetime(
        2026, 6, 1, 14, tzinfo=BERLIN
    )  # starts at lunch, counted from 13:00
    assert not calendar.is_open(datetime(2026, 6, monday, 12, 30, tzinfo=BERLIN))
    assert calendar.elapsed(
        datetime(2026, 6, monday, 8, tzinfo=BERLIN), datetime(2026, 6, monday, 18, tzinfo=BERLIN)
    ) == hours(7)
    assert calendar.windows[0] == WorkingWindow(0, time(9), time(12))  # sorted at construction
    assert calendar.add_business_days(datetime(2026, 6, monday, 10, tzinfo=BERLIN), 1) == datetime(
        2026, 6, 2, 17, tzinfo=BERLIN
    )  # close of business is the afternoon closing, not the lunch break


# -- DST ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "start", "expected"),
    [
        # Berlin spring forward: Fri 16:00 CET, 1 h Friday, Mon 09:00–10:00 CEST (= 08:00 UTC)
        (
            BERLIN_OFFICE,
            datetime(2026, 3, 27, 16, tzinfo=BERLIN),
            datetime(2026, 3, 30, 10, tzinfo=BERLIN),
        ),
        # Berlin fall back: Fri 16:00 CEST, Mon 10:00 CET (= 09:00 UTC)
        (
            BERLIN_OFFICE,
            datetime(2026, 10, 23, 16, tzinfo=BERLIN),
            datetime(2026, 10, 26, 10, tzinfo=BERLIN),
        ),
        # New York spring forward: Fri 16:00 EST, Mon 10:00 EDT (= 14:00 UTC)
        (
            NEW_YORK_OFFICE,
            datetime(2026, 3, 6, 16, tzinfo=NEW_YORK),
            datetime(2026, 3, 9, 10, tzinfo=NEW_YORK),
        ),
        # New York fall back: Fri 16:00 EDT, Mon 10:00 EST (= 15:00 UTC)
        (
            NEW_YORK_OFFICE,
            datetime(2026, 10, 30, 16, tzinfo=NEW_YORK),
            datetime(2026, 11, 2, 10, tzinfo=NEW_YORK),
        ),
    ],
)
def test_office_hours_across_dst_weekend_keep_local_opening_times(calendar, start, expected):
    # given a Friday 16:00 start before a DST weekend
    # when 2 working hours are added
    deadline = calendar.add(start, hours(2))
    # then the Monday hour is counted from 09:00 local wall-clock time
    assert deadline == expected


def test_utc_values_of_dst_office_deadlines():
    # given / when / then the same cases spelled in UTC, to show the offset really changed
    assert BERLIN_OFFICE.add(datetime(2026, 3, 27, 16, tzinfo=BERLIN), hours(2)) == datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert NEW_YORK_OFFICE.add(datetime(2026, 11, 2, 9, tzinfo=NEW_YORK), hours(0.5)) == datetime(
        2026, 11, 2, 14, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("tz", "zone", "window", "day", "real_hours"),
    [
        # window 01:00–05:00 on the day clocks jump 02:00 → 03:00: only 3 real hours
        ("Europe/Berlin", BERLIN, (time(1), time(5)), date(2026, 3, 29), 3),
        # clocks go back 03:00 → 02:00: 5 real hours
        ("Europe/Berlin", BERLIN, (time(1), time(5)), date(2026, 10, 25), 5),
        ("America/New_York", NEW_YORK, (time(0), time(4)), date(2026, 3, 8), 3),
        ("America/New_York", NEW_YORK, (time(0), time(4)), date(2026, 11, 1), 5),
    ],
)
def test_window_on_dst_change_day_has_real_elapsed_length(tz, zone, window, day, real_hours):
    # given a daily night window that spans the DST change
    calendar = daily(tz, *window)
    opening = datetime.combine(day, window[0], zone)
    closing = datetime.combine(day, window[1], zone)
    # when
    deadline = calendar.add(opening, hours(real_hours))
    whole_day = calendar.elapsed(datetime.combine(day, time(0), zone), datetime.combine(day, time(23), zone))
    # then the window holds exactly its real length, and ends at the local closing time
    assert deadline == closing
    assert whole_day == hours(real_hours)


def test_window_opening_in_spring_forward_gap_opens_after_the_gap():
    # given a daily Berlin window 02:30–06:00; on 2026-03-29 02:30 does not exist
    calendar = daily("Europe/Berlin", time(2, 30), time(6))
    midnight = datetime(2026, 3, 29, 0, tzinfo=BERLIN)
    # when
    opening = calendar.next_open(midnight)
    # then fold=0 reads 02:30 with the old offset (+01:00) = 01:30 UTC = 03:30 CEST
    assert opening == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    assert calendar.elapsed(midnight, datetime(2026, 3, 29, 12, tzinfo=BERLIN)) == hours(2.5)


def test_window_opening_at_ambiguous_fall_back_time_uses_first_occurrence():
    # given a daily Berlin window 02:30–06:00; on 2026-10-25 02:30 happens twice
    calendar = daily("Europe/Berlin", time(2, 30), time(6))
    midnight = datetime(2026, 10, 25, 0, tzinfo=BERLIN)
    # when
    opening = calendar.next_open(midnight)
    # then fold=0 = first 02:30 (CEST, +02:00) = 00:30 UTC; 06:00 CET = 05:00 UTC
    assert opening == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert calendar.elapsed(midnight, datetime(2026, 10, 25, 12, tzinfo=BERLIN)) == hours(4.5)


def test_window_inside_spring_forward_gap_is_not_counted_twice():
    # given daily Berlin windows 02:15–02:45 and 03:00–04:00; on 2026-03-29 02:15–02:45 does not exist,
    # and fold=0 maps it onto 03:15–03:45 CEST, inside the second window
    windows = tuple(WorkingWindow(d, time(2, 15), time(2, 45)) for d in range(7)) + tuple(
        WorkingWindow(d, time(3), time(4)) for d in range(7)
    )
    calendar = BusinessCalendarSpec(tz="Europe/Berlin", windows=windows)
    midnight = datetime(2026, 3, 29, 0, tzinfo=BERLIN)
    # when
    worked = calendar.elapsed(midnight, datetime(2026, 3, 29, 12, tzinfo=BERLIN))
    deadline = calendar.add(midnight, hours(1))
    # then only the real hour 03:00–04:00 CEST is open that day
    assert worked == hours(1)
    assert deadline == datetime(2026, 3, 29, 4, 0, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        # spring forward: 24 real hours later the wall clock reads one hour more
        ("Europe/Berlin", datetime(2026, 3, 28, 12, tzinfo=BERLIN), datetime(2026, 3, 29, 13, tzinfo=BERLIN)),
        (
            "America/New_York",
            datetime(2026, 3, 7, 12, tzinfo=NEW_YORK),
            datetime(2026, 3, 8, 13, tzinfo=NEW_YORK),
        ),
        # fall back: one hour less
        (
            "Europe/Berlin",
            datetime(2026, 10, 24, 12, tzinfo=BERLIN),
            datetime(2026, 10, 25, 11, tzinfo=BERLIN),
        ),
        (
            "America/New_York",
            datetime(2026, 10, 31, 12, tzinfo=NEW_YORK),
            datetime(2026, 11, 1, 11, tzinfo=NEW_YORK),
        ),
    ],
)
def test_always_open_adds_real_hours_across_dst(tz, start, expected):
    # given a 24/7 calendar
    calendar = BusinessCalendarSpec.always_open(tz)
    # when
    deadline = calendar.add(start, hours(24))
    # then
    assert deadline == expected


def test_always_open_elapsed_over_spring_forward_day_is_23_hours():
    # given a 24/7 Berlin calendar
    calendar = BusinessCalendarSpec.always_open("Europe/Berlin")
    # when local midnight to local midnight over 2026-03-29
    elapsed = calendar.elapsed(datetime(2026, 3, 29, 0, tzinfo=BERLIN), datetime(2026, 3, 30, 0, tzinfo=BERLIN))
    # then
    assert elapsed == hours(23)


def test_always_open_crosses_midnight():
    # given 24/7 calendars
    utc_calendar = BusinessCalendarSpec.always_open()
    berlin_calendar = BusinessCalendarSpec.always_open("Europe/Berlin")
    # when / then
    assert utc_calendar.add(datetime(2026, 6, 1, 23, 30, tzinfo=UTC), hours(1)) == datetime(
        2026, 6, 2, 0, 30, tzinfo=UTC
    )
    assert berlin_calendar.add(datetime(2026, 12, 31, 23, 0, tzinfo=BERLIN), hours(2)) == datetime(
        2027, 1, 1, 1, 0, tzinfo=BERLIN
    )
    assert berlin_calendar.is_open(datetime(2026, 12, 31, 23, 59, tzinfo=BERLIN))


def test_always_open_ignores_holidays():
    # given a 24/7 calendar that (pointlessly) lists Christmas
    calendar = BusinessCalendarSpec(tz="Europe/London", holidays=frozenset({date(2026, 12, 25)}))
    # when / then
    assert calendar.is_open(datetime(2026, 12, 25, 12, tzinfo=LONDON))
    assert calendar.add(datetime(2026, 12, 25, 12, tzinfo=LONDON), hours(1)) == datetime(
        2026, 12, 25, 13, tzinfo=LONDON
    )


# -- is_open / next_open -----------------------------------------------------------------------------


def test_is_open_is_half_open_at_window_edges():
    # given Monday 2026-06-01 in London
    # when / then
    assert LONDON_OFFICE.is_open(datetime(2026, 6, 1, 9, 0, tzinfo=LONDON))
    assert LONDON_OFFICE.is_open(datetime(2026, 6, 1, 16, 59, tzinfo=LONDON))
    assert not LONDON_OFFICE.is_open(datetime(2026, 6, 1, 17, 0, tzinfo=LONDON))
    assert not LONDON_OFFICE.is_open(datetime(2026, 6, 1, 8, 59, tzinfo=LONDON))
    assert not LONDON_OFFICE.is_open(datetime(2026, 6, 6, 12, 0, tzinfo=LONDON))  # Saturday


def test_is_open_accepts_any_input_zone():
    # given 08:30 UTC on Monday 2026-06-01 = 09:30 BST in London
    # when / then
    assert LONDON_OFFICE.is_open(datetime(2026, 6, 1, 8, 30, tzinfo=UTC))
    assert not LONDON_OFFICE.is_open(datetime(2026, 6, 1, 7, 30, tzinfo=UTC))


def test_next_open():
    # given / when / then
    open_now = datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
    assert LONDON_OFFICE.next_open(open_now) == open_now
    assert LONDON_OFFICE.next_open(datetime(2026, 6, 1, 17, 0, tzinfo=LONDON)) == datetime(
        2026, 6, 2, 9, 0, tzinfo=LONDON
    )
    assert LONDON_OFFICE.next_open(datetime(2026, 6, 6, 12, 0, tzinfo=LONDON)) == datetime(
        2026, 6, 8, 9, 0, tzinfo=LONDON
    )


# -- add_business_days -------------------------------------------------------------------------------


def test_five_business_days_from_monday_is_next_monday_close():
    # given Monday 2026-06-01 10:00
    start = datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
    # when
    deadline = LONDON_OFFICE.add_business_days(start, 5)
    # then Tue, Wed, Thu, Fri, Mon → next Monday 17:00
    assert deadline == datetime(2026, 6, 8, 17, 0, tzinfo=LONDON)


def test_one_business_day_from_saturday_is_monday_close():
    # given Saturday 2026-06-06
    start = datetime(2026, 6, 6, 12, 0, tzinfo=LONDON)
    # when / then
    assert LONDON_OFFICE.add_business_days(start, 1) == datetime(2026, 6, 8, 17, 0, tzinfo=LONDON)


def test_one_business_day_from_friday_skips_weekend():
    # given Friday 2026-06-05 10:00
    start = datetime(2026, 6, 5, 10, 0, tzinfo=LONDON)
    # when / then
    assert LONDON_OFFICE.add_business_days(start, 1) == datetime(2026, 6, 8, 17, 0, tzinfo=LONDON)


def test_business_days_skip_holiday():
    # given Christmas Friday 2026-12-25 is a holiday; start Wednesday 23rd
    calendar = BusinessCalendarSpec.office_hours(tz="Europe/London", holidays={date(2026, 12, 25)})
    start = datetime(2026, 12, 23, 10, 0, tzinfo=LONDON)
    # when
    deadline = calendar.add_business_days(start, 2)
    # then Thu 24th is day 1, Fri 25th holiday, weekend, Mon 28th is day 2
    assert deadline == datetime(2026, 12, 28, 17, 0, tzinfo=LONDON)


def test_zero_business_days():
    # given / when / then: before close → today's close
    assert LONDON_OFFICE.add_business_days(datetime(2026, 6, 1, 10, tzinfo=LONDON), 0) == datetime(
        2026, 6, 1, 17, tzinfo=LONDON
    )
    # before opening still counts as today
    assert LONDON_OFFICE.add_business_days(datetime(2026, 6, 1, 7, tzinfo=LONDON), 0) == datetime(
        2026, 6, 1, 17, tzinfo=LONDON
    )
    # at or after close → next business day's close
    assert LONDON_OFFICE.add_business_days(datetime(2026, 6, 1, 17, tzinfo=LONDON), 0) == datetime(
        2026, 6, 2, 17, tzinfo=LONDON
    )
    # Saturday → Monday's close
    assert LONDON_OFFICE.add_business_days(datetime(2026, 6, 6, 12, tzinfo=LONDON), 0) == datetime(
        2026, 6, 8, 17, tzinfo=LONDON
    )


def test_business_days_across_dst_keep_local_closing_time():
    # given Friday 2026-03-27 10:00 CET in Berlin
    start = datetime(2026, 3, 27, 10, tzinfo=BERLIN)
    # when / then Monday 30th closes at 17:00 CEST (= 15:00 UTC)
    assert BERLIN_OFFICE.add_business_days(start, 1) == datetime(2026, 3, 30, 17, tzinfo=BERLIN)
    assert BERLIN_OFFICE.add_business_days(start, 1) == datetime(2026, 3, 30, 15, tzinfo=UTC)


def test_business_days_on_always_open_calendar_are_24_hour_blocks():
    # given a 24/7 Berlin calendar and a start before the spring-forward Sunday
    calendar = BusinessCalendarSpec.always_open("Europe/Berlin")
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    # when / then 48 real hours, i.e. 13:00 local after the clocks jumped
    assert calendar.add_business_days(start, 2) == datetime(2026, 3, 30, 13, tzinfo=BERLIN)
    assert calendar.add_business_days(start, 0) == start


# -- large spans ---------------------------------------------------------------------------------------


def test_large_durations_are_computed_per_day_not_per_minute():
    # given a UTC Mon–Fri 09–17 calendar (8 h/day, 40 h/week) and Monday 2026-01-05
    calendar = BusinessCalendarSpec.office_hours(tz="UTC")
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    # when
    deadline = calendar.add(start, hours(10_000))
    far_day = calendar.add_business_days(start, 2_000)
    # then 10,000 h = 250 full weeks → Friday of the 250th week (2026-01-05 + 1,747 days)
    assert deadline == datetime(2030, 10, 18, 17, 0, tzinfo=UTC)
    # 2,000 business days = 400 weeks → Monday 2026-01-05 + 2,800 days
    assert far_day == datetime(2033, 9, 5, 17, 0, tzinfo=UTC)
    assert calendar.elapsed(start, deadline) == hours(10_000)


# -- elapsed -------------------------------------------------------------------------------------------


def test_elapsed_examples():
    # given the London office calendar
    friday_1600 = datetime(2026, 6, 5, 16, tzinfo=LONDON)
    monday_1000 = datetime(2026, 6, 8, 10, tzinfo=LONDON)
    # when / then
    assert LONDON_OFFICE.elapsed(friday_1600, monday_1000) == hours(2)
    assert LONDON_OFFICE.elapsed(monday_1000, friday_1600) == timedelta(0)  # end before start
    assert LONDON_OFFICE.elapsed(friday_1600, friday_1600) == timedelta(0)
    assert LONDON_OFFICE.elapsed(
        datetime(2026, 6, 6, 8, tzinfo=LONDON), datetime(2026, 6, 7, 20, tzinfo=LONDON)
    ) == timedelta(0)  # whole weekend
    assert LONDON_OFFICE.elapsed(
        datetime(2026, 6, 1, 0, tzinfo=LONDON), datetime(2026, 6, 8, 0, tzinfo=LONDON)
    ) == hours(40)  # one full week


def test_elapsed_skips_holiday():
    # given Christmas Friday is a holiday
    calendar = BusinessCalendarSpec.office_hours(tz="Europe/London", holidays={date(2026, 12, 25)})
    # when Thursday 16:00 → Monday 28th 10:00
    elapsed = calendar.elapsed(datetime(2026, 12, 24, 16, tzinfo=LONDON), datetime(2026, 12, 28, 10, tzinfo=LONDON))
    # then 1 h Thursday + 1 h Monday
    assert elapsed == hours(2)


# -- errors --------------------------------------------------------------------------------------------


def test_naive_datetimes_are_rejected():
    # given a naive datetime
    naive = datetime(2026, 6, 1, 10, 0)
    aware = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    # when / then
    for calendar in (LONDON_OFFICE, BusinessCalendarSpec.always_open()):
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.add(naive, hours(1))
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.add_business_days(naive, 1)
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.is_open(naive)
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.next_open(naive)
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.elapsed(aware, naive)
        with pytest.raises(ValueError, match="timezone-aware"):
            calendar.elapsed(naive, aware)


def test_negative_duration_and_days_are_rejected():
    # given
    start = datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
    # when / then
    with pytest.raises(ValueError, match="negative"):
        LONDON_OFFICE.add(start, timedelta(seconds=-1))
    with pytest.raises(ValueError, match="negative"):
        BusinessCalendarSpec.always_open().add(start, timedelta(seconds=-1))
    with pytest.raises(ValueError, match="negative"):
        LONDON_OFFICE.add_business_days(start, -1)


def test_overlapping_windows_are_rejected():
    # given two Monday windows 09–13 and 12–17
    windows = (WorkingWindow(0, time(12), time(17)), WorkingWindow(0, time(9), time(13)))
    # when / then
    with pytest.raises(ValueError, match="overlapping"):
        BusinessCalendarSpec(tz="Europe/Berlin", windows=windows)


def test_touching_windows_and_same_times_on_other_days_are_fine():
    # given 09–12 and 12–17 on Monday, and 09–12 on Tuesday
    windows = (
        WorkingWindow(0, time(9), time(12)),
        WorkingWindow(0, time(12), time(17)),
        WorkingWindow(1, time(9), time(12)),
    )
    calendar = BusinessCalendarSpec(tz="Europe/Berlin", windows=windows)
    # when / then the seam at 12:00 is open and does not stop the clock
    assert calendar.is_open(datetime(2026, 6, 1, 12, tzinfo=BERLIN))
    assert calendar.add(datetime(2026, 6, 1, 11, tzinfo=BERLIN), hours(2)) == datetime(2026, 6, 1, 13, tzinfo=BERLIN)


def test_invalid_windows_and_zones_are_rejected():
    # given / when / then
    with pytest.raises(ValueError, match="overnight"):
        WorkingWindow(0, time(22), time(6))
    with pytest.raises(ValueError, match="end after"):
        WorkingWindow(0, time(9), time(9))
    with pytest.raises(ValueError, match="weekday"):
        WorkingWindow(7, time(9), time(17))
    with pytest.raises(ValueError, match="time zone"):
        BusinessCalendarSpec.office_hours(tz="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="weekday"):
        BusinessCalendarSpec.office_hours(tz="UTC", weekdays=())


def test_never_open_calendar_raises_instead_of_looping_forever():
    # given office hours where every date from 2026 to 2030 is a holiday
    first = date(2026, 1, 1)
    all_days = {first + timedelta(days=i) for i in range(5 * 366)}
    calendar = BusinessCalendarSpec.office_hours(tz="Europe/Berlin", holidays=all_days)
    start = datetime(2026, 1, 5, 10, tzinfo=BERLIN)
    # when / then
    with pytest.raises(ValueError, match="never open"):
        calendar.add(start, hours(1))
    with pytest.raises(ValueError, match="never open"):
        calendar.next_open(start)
    with pytest.raises(ValueError, match="never open"):
        calendar.add_business_days(start, 1)
    # bounded questions still have answers
    assert not calendar.is_open(start)
    assert calendar.elapsed(start, start + timedelta(days=30)) == timedelta(0)


# -- properties ----------------------------------------------------------------------------------------

PROPERTY_CALENDARS = [
    # Berlin office with public holidays (incl. Monday 2026-03-30 right after spring forward)
    BusinessCalendarSpec.office_hours(
        tz="Europe/Berlin",
        holidays={
            date(2026, 1, 1),
            date(2026, 3, 30),
            date(2026, 4, 3),
            date(2026, 12, 25),
            date(2027, 1, 1),
        },
    ),
    # New York office with lunch break, Saturday morning, holidays
    BusinessCalendarSpec(
        tz="America/New_York",
        windows=tuple(WorkingWindow(d, time(8, 30), time(12)) for d in range(5))
        + tuple(WorkingWindow(d, time(13), time(17, 30)) for d in range(5))
        + (WorkingWindow(5, time(10), time(14)),),
        holidays=frozenset({date(2026, 3, 9), date(2026, 7, 3), date(2026, 11, 2), date(2026, 12, 25)}),
    ),
    # night shifts straddling the DST changes themselves
    BusinessCalendarSpec.office_hours(tz="Europe/Berlin", start=time(1, 30), end=time(3, 30), weekdays=range(7)),
    BusinessCalendarSpec.office_hours(
        tz="America/New_York",
        start=time(0, 30),
        end=time(2, 30),
        weekdays=range(7),
        holidays={date(2026, 3, 7)},
    ),
]

calendars = st.sampled_from(PROPERTY_CALENDARS)
instants = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=500))


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=instants, duration=durations)
def test_property_elapsed_inverts_add(calendar, start, duration):
    # given any start and duration
    # when
    deadline = calendar.add(start, duration)
    # then
    assert calendar.elapsed(start, deadline) == duration
    assert deadline >= start


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=instants, d1=durations, d2=durations)
def test_property_add_is_monotonic(calendar, start, d1, d2):
    # given two durations, smaller first
    small, large = sorted((d1, d2))
    # when / then
    assert calendar.add(start, small) <= calendar.add(start, large)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=instants, gap=durations)
def test_property_add_of_elapsed_is_earliest_open_instant(calendar, start, gap):
    # given an end at or after start
    end = start + gap
    # when
    worked = calendar.elapsed(start, end)
    reached = calendar.add(start, worked)
    # then the same work is reached no later than end, with no open time left between
    assert reached <= end
    assert calendar.elapsed(start, reached) == worked
    assert calendar.elapsed(reached, end) == timedelta(0)
    if worked:  # and not a microsecond earlier
        assert calendar.elapsed(start, reached - timedelta(microseconds=1)) < worked


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, at=instants)
def test_property_next_open_agrees_with_is_open(calendar, at):
    # given any instant
    # when
    opening = calendar.next_open(at)
    # then
    assert calendar.is_open(opening)
    assert (opening == at) == calendar.is_open(at)
    assert calendar.elapsed(at, opening) == timedelta(0)
