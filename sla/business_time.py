"""Business-time arithmetic for SLA deadlines.

SLAs are promised in working time ("first response within 4 working hours",
"corrective plan within 5 business days"), so deadlines must skip nights,
weekends and holidays of the calendar's own time zone while staying exact in
real elapsed time across DST changes. All arithmetic runs on UTC instants and
walks the calendar one local day at a time (never minute by minute), so large
durations stay cheap. Standard library only; no Django imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# A calendar that stays closed this many consecutive days is treated as never open,
# so a misconfigured calendar fails loudly instead of looping forever.
_MAX_CLOSED_DAYS = 3 * 366

Interval = tuple[datetime, datetime]


def _to_utc(value: datetime, name: str) -> datetime:
    """Naive datetimes have no defined instant, so they are refused; aware ones go to UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class WorkingWindow:
    """One opening period on a weekday, in local wall-clock time of the calendar's zone."""

    weekday: int  # 0 = Monday … 6 = Sunday
    start: time  # local wall-clock opening time
    end: time  # local wall-clock closing time, > start (split overnight windows in two)

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) … 6 (Sunday), got {self.weekday}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local wall-clock times; pass naive time objects")
        if self.end <= self.start:
            raise ValueError(
                f"window must end after it starts ({self.start}–{self.end}); split overnight windows in two"
            )


@dataclass(frozen=True)
class BusinessCalendarSpec:
    """Opening hours of a team in one time zone; an empty `windows` tuple means open 24/7."""

    tz: str  # IANA zone name, e.g. "Europe/Berlin"
    windows: tuple[WorkingWindow, ...] = ()  # empty tuple == open 24/7 (then holidays are ignored)
    holidays: frozenset[date] = frozenset()  # local dates fully closed

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {self.tz!r}") from exc
        windows = tuple(sorted(self.windows, key=lambda w: (w.weekday, w.start)))
        for before, after in zip(windows, windows[1:], strict=False):
            if before.weekday == after.weekday and after.start < before.end:
                raise ValueError(f"overlapping working windows: {before} and {after}")
        # Frozen dataclass: the normalised values are stored once, here.
        object.__setattr__(self, "windows", windows)
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @classmethod
    def always_open(cls, tz: str = "UTC") -> BusinessCalendarSpec:
        """A 24/7 calendar: business time is plain elapsed time."""
        return cls(tz=tz)

    @classmethod
    def office_hours(
        cls,
        *,
        tz: str,
        start: time = time(9),
        end: time = time(17),
        weekdays: Iterable[int] = range(5),
        holidays: Iterable[date] = (),
    ) -> BusinessCalendarSpec:
        """The common case: the same single window on each of `weekdays` (default Mon–Fri 09–17)."""
        windows = tuple(WorkingWindow(weekday, start, end) for weekday in sorted(set(weekdays)))
        if not windows:
            # An empty tuple would silently mean 24/7, the opposite of "no working days".
            raise ValueError("office_hours() needs at least one weekday")
        return cls(tz=tz, windows=windows, holidays=frozenset(holidays))

    # -- public API ---------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether `at` lies in working time; windows are half-open, so a closing instant is closed."""
        at = _to_utc(at, "at")
        if self._always_open:
            return True
        first = next(self._intervals(at, until=at), None)
        return first is not None and first[0] == at

    def next_open(self, at: datetime) -> datetime:
        """`at` itself (in UTC) if open, else the next opening instant: where SLA clocks start."""
        at = _to_utc(at, "at")
        if self._always_open:
            return at
        return next(self._intervals(at))[0]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """Instant at which `duration` of working time has elapsed since `start`.

        Counting begins at the next opening if `start` is closed; a duration used up exactly
        at closing time yields that closing instant (not the next opening)."""
        start = _to_utc(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if self._always_open or duration == _ZERO:
            return start + duration
        remaining = duration
        for open_at, close_at in self._intervals(start):
            if remaining <= close_at - open_at:
                return open_at + remaining
            remaining -= close_at - open_at
        raise AssertionError("unreachable: _intervals() is endless or raises")

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """Close of business of the `days`-th business day after `start`'s local date.

        "Within 5 business days" means "by the end of the 5th working day", not 5 × 8 hours.
        `days == 0` means close of business today, or of the next business day if already closed.
        On a 24/7 calendar a business day is simply 24 elapsed hours."""
        start = _to_utc(start, "start")
        if days < 0:
            raise ValueError(f"days must not be negative, got {days}")
        if self._always_open:
            return start + days * _ONE_DAY
        day = start.astimezone(self._zone).date()
        if days == 0:
            close = self._close_of_business(day)
            if close is not None and start < close:
                return close
            days = 1
        closed_days = 0
        while True:
            day += _ONE_DAY
            close = self._close_of_business(day)
            if close is None:
                closed_days += 1
                if closed_days > _MAX_CLOSED_DAYS:
                    raise ValueError("calendar is never open (no business day within ~3 years)")
                continue
            closed_days = 0
            days -= 1
            if days == 0:
                return close

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero if `end <= start`): the inverse of add()."""
        start, end = _to_utc(start, "start"), _to_utc(end, "end")
        if end <= start:
            return _ZERO
        if self._always_open:
            return end - start
        total = _ZERO
        for open_at, close_at in self._intervals(start, until=end):
            if open_at >= end:
                break
            total += min(close_at, end) - open_at
        return total

    # -- internals ----------------------------------------------------------------------------

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)  # ZoneInfo caches instances per key, so this is cheap

    @property
    def _always_open(self) -> bool:
        return not self.windows

    def _day_intervals(self, day: date) -> list[Interval]:
        """UTC open intervals of one local date, sorted by start; empty if closed that day.

        Local times use fold=0 and are normalised through UTC, so a time in a spring-forward gap
        lands after the gap and an ambiguous fall-back time means its first occurrence."""
        if day in self.holidays:
            return []
        intervals = []
        for window in self.windows:
            if window.weekday != day.weekday():
                continue
            open_at = datetime.combine(day, window.start.replace(fold=0), self._zone).astimezone(UTC)
            close_at = datetime.combine(day, window.end.replace(fold=0), self._zone).astimezone(UTC)
            if close_at > open_at:  # a window entirely inside a DST gap has no real time
                intervals.append((open_at, close_at))
        return sorted(intervals)

    def _close_of_business(self, day: date) -> datetime | None:
        """Last closing instant of a local date, or None if it is not a business day."""
        return max((close_at for _, close_at in self._day_intervals(day)), default=None)

    def _intervals(self, after: datetime, until: datetime | None = None) -> Iterator[Interval]:
        """Ordered, non-overlapping UTC open intervals, clipped to start no earlier than `after`.

        Walks local dates from the day before `after`. Stops after `until`'s local date if given;
        otherwise runs forever, raising ValueError once the calendar stays closed ~3 years."""
        zone = self._zone
        day = after.astimezone(zone).date() - _ONE_DAY
        last_day = until.astimezone(zone).date() + _ONE_DAY if until is not None else None
        previous_close = after  # clipping here also drops anything that ended before `after`
        closed_days = 0
        while last_day is None or day <= last_day:
            closed_days += 1
            for open_at, close_at in self._day_intervals(day):
                open_at = max(open_at, previous_close)  # DST gaps can map windows onto each other
                if close_at > open_at:
                    closed_days = 0
                    previous_close = close_at
                    yield open_at, close_at
            if last_day is None and closed_days > _MAX_CLOSED_DAYS:
                raise ValueError("calendar is never open (closed for ~3 years ahead)")
            day += _ONE_DAY
