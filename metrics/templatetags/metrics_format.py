"""Formatting for dashboard numbers: one place decides how a %, an hour or a duration reads."""

from datetime import datetime
from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

RAG_LABELS = {"green": "on target", "amber": "just off", "red": "off target", "none": "no data"}
RAG_CLASSES = {"green": "ok", "amber": "warn", "red": "bad", "none": ""}


def _number(value, places: int = 1) -> str:
    """At most `places` decimals, without trailing zeros: 6.7, 33, 2.25."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return intcomma(int(value))
    return intcomma(f"{value:.{places}f}".rstrip("0").rstrip("."))


def duration(minutes) -> str:
    if minutes is None:
        return "—"
    hours = Decimal(minutes) / 60
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


@register.filter
def fmt(value, kind: str = "text") -> str:
    """Render a dashboard value by kind; None is an em dash (nothing to measure), never 0."""
    if value is None or value == "":
        return "—"
    if kind == "int":
        return intcomma(value)
    if kind == "pct":
        return f"{_number(value)} %"
    if kind in ("decimal", "score"):
        text = _number(value, 2 if kind == "decimal" else 0)
        return f"+{text}" if kind == "score" and Decimal(value) > 0 else text
    if kind == "bhours":
        return f"{Decimal(value) / 60:.1f} working h"
    if kind == "hours":
        return f"{Decimal(value):.2f} h"
    if kind == "duration":
        return duration(value)
    if kind == "money":
        return intcomma(f"{Decimal(value):.2f}")
    if kind == "datetime" and isinstance(value, datetime):
        return timezone.localtime(value).strftime("%a %d %b %H:%M")
    return str(value)


@register.filter
def kpi_value(value, unit: str = "") -> str:
    if value is None:
        return "—"
    text = _number(value, 2)
    return f"{text} {unit}".strip() if unit else text


@register.simple_tag
def rag_pill(status: str):
    return format_html(
        '<span class="pill rag {}" title="{}"><span class="dot" aria-hidden="true"></span>{}</span>',
        RAG_CLASSES.get(status, ""),
        RAG_LABELS.get(status, status),
        RAG_LABELS.get(status, status),
    )


@register.filter
def cell(row: dict, column) -> str:
    """A table cell: columns of kind 'value' take the row's own kind (metric rows mix %, hours and counts)."""
    value = row.get(column.key)
    kind = row.get("kind", "text") if column.kind == "value" else column.kind
    if kind == "rag":
        return rag_pill(value)
    return fmt(value, kind)


@register.filter
def numeric(column) -> bool:
    return column.kind not in ("text", "rag")


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "") if mapping else ""
