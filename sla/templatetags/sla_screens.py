"""Template helpers for the work screens: clock countdowns, state colours, the inbox badge.

A countdown is computed on the server from the clock's own warn/due instants, so the colour a person sees
is the same rule the sweep escalates on (warning window, then breach)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import template
from django.utils import timezone

from sla.models import ClockState

register = template.Library()


def duration_short(delta: timedelta | None) -> str:
    """'2d 4h', '3h 12m', '12m', '<1m': enough precision to act on, short enough for a table cell."""
    if delta is None:
        return ""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m" if mins else "<1m"


@dataclass(frozen=True)
class Countdown:
    tone: str  # ok | warn | bad | paused | done
    text: str
    label: str
    due_at: datetime | None
    warn_at: datetime | None

    @property
    def urgent(self) -> bool:
        return self.tone in {"warn", "bad"}


def clock_countdown(clock, now: datetime | None = None) -> Countdown:
    now = now or timezone.now()
    label = clock.get_commitment_display()
    if clock.state == ClockState.MET:
        return Countdown("done", "met", label, clock.due_at, clock.warn_at)
    if clock.state == ClockState.CANCELLED:
        return Countdown("done", "stopped", label, clock.due_at, clock.warn_at)
    if clock.state == ClockState.PAUSED:
        left = duration_short(clock.remaining) if clock.remaining is not None else ""
        return Countdown("paused", f"paused · {left} left" if left else "paused", label, None, None)
    if clock.state == ClockState.BREACHED and clock.stopped_at is not None:
        late = duration_short(clock.stopped_at - clock.due_at)
        return Countdown("bad", f"missed by {late}", label, clock.due_at, clock.warn_at)
    if clock.state == ClockState.BREACHED or now >= clock.due_at:
        return Countdown("bad", f"{duration_short(now - clock.due_at)} overdue", label, clock.due_at, clock.warn_at)
    tone = "warn" if now >= clock.warn_at else "ok"
    return Countdown(tone, f"{duration_short(clock.due_at - now)} left", label, clock.due_at, clock.warn_at)


@register.inclusion_tag("partials/countdown.html", takes_context=True)
def countdown(context, clock, show_label=True):
    """<span> with the time left (or overdue) and its colour; `clock` may be None (no deadline running)."""
    if clock is None:
        return {"c": None}
    return {"c": clock_countdown(clock, context.get("now")), "show_label": show_label, "clock": clock}


@register.filter
def short_duration(delta):
    return duration_short(delta)


STATE_TONES = {
    # leads
    "prospect": "",
    "mql": "info",
    "handed_off": "warn",
    "rejected": "bad",
    "sql": "info",
    "working": "info",
    "converted": "ok",
    "recycled": "warn",
    "disqualified": "muted",
    # members
    "signed": "info",
    "onboarding": "warn",
    "onboarded": "ok",
    "engaged": "ok",
    "renewal_eligible": "info",
    "renewed": "ok",
    "churned": "muted",
    # escalations, plans, hand-offs, clocks
    "open": "bad",
    "acknowledged": "warn",
    "resolved": "ok",
    "submitted": "warn",
    "accepted": "ok",
    "pending": "warn",
    "running": "info",
    "paused": "",
    "met": "ok",
    "breached": "bad",
    "cancelled": "muted",
}


@register.filter
def tone(state: str) -> str:
    """CSS tone for a state pill, one palette for every lifecycle in the portal."""
    return STATE_TONES.get(state, "")


@register.simple_tag
def inbox_unread(user) -> int:
    from sla.selectors import unread_count

    return unread_count(user)


@register.filter
def field_label(name: str) -> str:
    """'first_name' → 'first name': required hand-off fields as people say them."""
    return str(name).replace("_", " ")


@register.simple_tag(takes_context=True)
def countdown_tone(context, clock) -> str:
    """Row class for a clock's tone, so a whole queue row can carry the colour of its deadline."""
    return f"row-{clock_countdown(clock, context.get('now')).tone}" if clock is not None else ""


@register.filter
def ago(value: datetime | None) -> str:
    """'3h 05m ago', '12d ago': time since, short enough for a table cell."""
    if not value:
        return ""
    delta = timezone.now() - value
    if delta.days >= 2:
        return f"{delta.days}d ago"
    return f"{duration_short(delta)} ago"
