"""Server-rendered SVG charts (pygal). Each function takes plain numbers and returns inline SVG markup; the numbers
are also in a table beside every chart, so the charts carry no information a screen reader would miss."""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

PALETTE = ("#2454d6", "#18794e", "#b45309", "#c42b1c", "#7c3aed", "#0e7490", "#a16207", "#be185d", "#4b5563")

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#e2e5ea",
    opacity=".9",
    opacity_hover="1",
    colors=PALETTE,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    value_font_size=12,
    value_label_font_size=12,
    legend_font_size=12,
    title_font_size=14,
    tooltip_font_size=12,
)

_COMMON = dict(
    style=STYLE,
    js=(),  # no third-party script: values are printed on the chart and listed in the table beside it
    disable_xml_declaration=True,
    explicit_size=False,
    show_y_guides=True,
    legend_at_bottom=True,
    legend_at_bottom_columns=3,
    truncate_legend=-1,
    truncate_label=-1,
    margin=8,
    spacing=8,
)


def _count_axis(chart, peak: float) -> None:
    """Whole-number steps for counts (pygal would otherwise label 0.2, 0.4… on small numbers)."""
    if not peak or not chart.raw_series:
        return  # pygal draws its own "No data" and must not get labels then
    peak = int(peak)
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000) if peak / s <= 8)
    chart.y_labels = list(range(0, peak + step, step))


def _svg(chart, title: str) -> SafeString:
    svg = chart.render(is_unicode=True)
    # pygal's root <svg> carries no role; give assistive tech a name for the figure.
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)
    return mark_safe(svg)  # noqa: S308 - markup produced by pygal from numbers and our own labels


def funnel_chart(labels: Sequence[str], counts: Sequence[int], *, title: str = "Funnel") -> SafeString:
    chart = pygal.HorizontalBar(
        **_COMMON,
        width=640,
        height=300,
        show_legend=False,
        print_values=True,
        print_values_position="top",
        show_x_guides=False,
    )
    chart.x_labels = list(reversed(labels))
    chart.add("Entered", list(reversed(list(counts))))
    return _svg(chart, title)


def trend_chart(
    x_labels: Sequence[str], series: dict[str, Sequence[int | None]], *, title: str, height: int = 280
) -> SafeString:
    chart = pygal.Line(
        **_COMMON,
        width=640,
        height=height,
        x_label_rotation=0,
        show_minor_x_labels=len(x_labels) <= 14,
        x_labels_major_every=max(1, len(x_labels) // 7),
        dots_size=3,
        fill=False,
    )
    chart.x_labels = list(x_labels)
    for name, values in series.items():
        chart.add(name, list(values))
    _count_axis(chart, max((v or 0 for values in series.values() for v in values), default=0))
    return _svg(chart, title)


def stacked_chart(
    x_labels: Sequence[str], series: dict[str, Sequence[int]], *, title: str, height: int = 280
) -> SafeString:
    chart = pygal.StackedBar(
        **_COMMON,
        width=640,
        height=height,
        show_minor_x_labels=len(x_labels) <= 14,
        x_labels_major_every=max(1, len(x_labels) // 7),
    )
    chart.x_labels = list(x_labels)
    for name, values in series.items():
        chart.add(name, [v or None for v in values])
    totals = [sum(v or 0 for v in column) for column in zip(*series.values(), strict=True)] if series else []
    _count_axis(chart, max(totals, default=0))
    return _svg(chart, title)


def bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str, height: int = 240) -> SafeString:
    chart = pygal.Bar(**_COMMON, width=640, height=height, show_legend=False, print_values=True)
    chart.x_labels = list(labels)
    chart.add(title, list(values))
    _count_axis(chart, max(values, default=0))
    return _svg(chart, title)


def sparkline(values: Sequence[float | None], *, title: str) -> SafeString:
    chart = pygal.Line(
        style=STYLE,
        js=(),
        disable_xml_declaration=True,
        explicit_size=True,
        width=120,
        height=32,
        show_dots=True,
        dots_size=2,
        stroke_style={"width": 2},
    )
    chart.add(title, list(values))
    svg = chart.render_sparkline(interpolate=None, width=120, height=32)
    svg = svg.decode() if isinstance(svg, bytes) else svg
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1))  # noqa: S308


def gauge(value: float | None, *, title: str) -> SafeString:
    chart = pygal.SolidGauge(
        **{**_COMMON, "legend_at_bottom": False},
        width=300,
        height=180,
        half_pie=True,
        inner_radius=0.7,
        show_legend=False,
        value_formatter=lambda v: f"{v:.0f} %",
    )
    chart.add(title, [{"value": value or 0, "max_value": 100}])
    return _svg(chart, title)
