"""The shared dashboard, the team pages, scorecards, CSV exports, the digest preview and the alignment reviews.

Every signed-in user sees every number (the agreement makes metrics visible to all teams); only recording a review
is for team leads and department heads, decided by the services and `accounts.roles`."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Team, TeamKind, User
from accounts.roles import is_lead_or_head
from leads.models import LeadSource
from onboarding.models import MembershipType
from sla.escalations import review_action_add, review_action_done, review_complete
from sla.models import Review, ReviewAction
from sla.views import forbidden, htmx_fragment, run_service

from . import charts
from .kpis import KPI_DEFINITIONS
from .periods import DASHBOARD_TEAMS, PERIOD_CHOICES, Filters, add_months, filters_from_query, month_start
from .rollups import Measure
from .selectors import (
    TEAM_LABELS,
    Dashboard,
    active_agreement,
    bucket_labels,
    dashboard_build,
    hist_within,
    reason_trend,
    review_pack,
    scorecards_for,
    series,
)
from .services import digest_render, digest_week, review_monthly_open
from .tables import csv_stream

FR_BUCKETS = [(60, "≤ 1 h"), (240, "1–4 h"), (480, "4–8 h"), (1440, "8–24 h"), (None, "> 24 h")]


def _chart_context(dashboard: Dashboard) -> dict:
    """The SVG charts of the page, from the numbers the tables show."""
    f, r = dashboard.filters, dashboard.rollups
    labels = bucket_labels(f)
    fr = r.hist(Measure.FIRST_RESPONSE)
    counts, previous = [], 0
    for limit, _ in FR_BUCKETS:
        within = hist_within(fr, limit)[0] if limit else sum(fr.values())
        counts.append(within - previous)
        previous = within
    cohorts = dashboard.tables["cohorts"].rows
    months = sorted({row["month"] for row in cohorts})
    by_month = {m: {"renewed": 0, "churned": 0, "other": 0} for m in months}
    for row in cohorts:
        bucket = by_month[row["month"]]
        bucket["renewed"] += row["renewed"]
        bucket["churned"] += row["churned"]
        bucket["other"] += row["members"] - row["renewed"] - row["churned"]
    return {
        "funnel_chart": charts.funnel_chart([s.label for s in dashboard.funnel], [s.count for s in dashboard.funnel]),
        "trend_chart": charts.trend_chart(
            labels,
            {
                "Prospects": series(r, Measure.PROSPECT, f),
                "MQLs": series(r, Measure.MQL, f),
                "SQLs": series(r, Measure.SQL, f),
                "Members": series(r, Measure.MEMBER, f),
            },
            title="Entries per week" if f.days <= 120 else "Entries per month",
        ),
        "response_chart": charts.bar_chart([label for _, label in FR_BUCKETS], counts, title="Hand-offs answered"),
        "rejection_chart": charts.stacked_chart(
            labels, reason_trend(r, Measure.REJECTED, f), title="Rejections by reason"
        ),
        "churn_chart": charts.stacked_chart(labels, reason_trend(r, Measure.CHURNED, f), title="Churn by reason"),
        "cohort_chart": charts.stacked_chart(
            [date.fromisoformat(f"{m}-01").strftime("%b %y") for m in months],
            {
                "Renewed": [by_month[m]["renewed"] for m in months],
                "Churned": [by_month[m]["churned"] for m in months],
                "Still in first term or lapsed": [by_month[m]["other"] for m in months],
            },
            title="Members by sign-up month",
        ),
        "sparklines": {
            row.target.pk: charts.sparkline(
                [float(h.value) if h.value is not None else None for h in row.history]
                + [float(row.result.value) if row.result.value is not None else None],
                title=f"{row.label}: last periods",
            )
            for row in dashboard.kpi_rows
        },
    }


def _filter_choices() -> dict:
    return {
        "period_choices": PERIOD_CHOICES,
        "team_choices": [(kind, TEAM_LABELS[kind]) for kind in DASHBOARD_TEAMS],
        "source_choices": LeadSource.choices,
        "type_choices": MembershipType.choices,
    }


def _render_dashboard(request: HttpRequest, *, team: str = "") -> HttpResponse:
    filters = filters_from_query(request.GET, team=team)
    for error in filters.errors:
        messages.warning(request, error)
    dashboard = dashboard_build(filters=filters)
    context = {
        "d": dashboard,
        "f": filters,
        "team_label": TEAM_LABELS.get(team, ""),
        "page": team or "shared",
        "section": "dashboard",
        "families": [dashboard.families[k] for k in dashboard.team_order()] + [dashboard.families["shared"]],
        "kpi_definitions": KPI_DEFINITIONS,
        **_filter_choices(),
        **_chart_context(dashboard),
    }
    template = "metrics/dashboard.html"
    if getattr(request, "htmx", False) and request.headers.get("HX-Target") == "dashboard-body":
        return htmx_fragment(request, f"{template}#body", context)
    return render(request, template, context)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return _render_dashboard(request)


@login_required
def team_dashboard(request: HttpRequest, team: str) -> HttpResponse:
    if team not in DASHBOARD_TEAMS:
        raise Http404("No such team page.")
    return _render_dashboard(request, team=team)


@login_required
def scorecards(request: HttpRequest) -> HttpResponse:
    filters = filters_from_query(request.GET)
    for error in filters.errors:
        messages.warning(request, error)
    cards = scorecards_for(agreement=active_agreement(), day=filters.last_day)
    gauges = {card.team_kind: charts.gauge(float(card.score or 0), title=f"{card.team_name} score") for card in cards}
    return render(
        request,
        "metrics/scorecards.html",
        {
            "cards": cards,
            "gauges": gauges,
            "f": filters,
            "period_choices": PERIOD_CHOICES,
            "page": "scorecards",
            "section": "dashboard",
        },
    )


@login_required
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    filters = filters_from_query(request.GET)
    dashboard = dashboard_build(filters=filters, with_scorecards=table == "scorecards")
    if table not in dashboard.tables:
        raise Http404("No such table.")
    chosen = dashboard.tables[table]
    response = StreamingHttpResponse(csv_stream(chosen), content_type="text/csv; charset=utf-8")
    name = f"{table}_{filters.start:%Y%m%d}-{filters.last_day:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def digest_preview(request: HttpRequest) -> HttpResponse:
    """The Monday e-mail of a team, as its lead will get it (any team, for anyone: the numbers are shared)."""
    kind = request.GET.get("team") or (request.user.team.kind if request.user.team else TeamKind.MARKETING)
    if kind not in DASHBOARD_TEAMS:
        kind = TeamKind.MARKETING
    team = get_object_or_404(Team, kind=kind)
    now = timezone.now()
    digest = digest_render(team=team, week=digest_week(now), now=now, base_url="")
    if request.GET.get("format") == "text":
        return HttpResponse(digest.text, content_type="text/plain; charset=utf-8")
    return render(
        request,
        "metrics/digest_preview.html",
        {
            "digest": digest,
            "team_choices": [(k, TEAM_LABELS[k]) for k in DASHBOARD_TEAMS],
            "team_kind": kind,
            "page": "digest",
            "section": "dashboard",
        },
    )


# --- the monthly alignment review ----------------------------------------------------------------------


class ReviewRecordForm(forms.Form):
    root_causes = forms.CharField(
        label="Root causes of the misses",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="E.g. lead scoring too loose, data incomplete, follow-up script unclear.",
    )
    notes = forms.CharField(
        label="Notes and agreed adjustments", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class ReviewActionForm(forms.Form):
    description = forms.CharField(label="Action", max_length=255)
    owner = forms.ModelChoiceField(label="Owner", queryset=User.objects.none())
    due_on = forms.DateField(label="Due on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True, team__kind__in=DASHBOARD_TEAMS).order_by(
            "team__name", "first_name", "username"
        )
        self.fields["owner"].label_from_instance = lambda u: f"{u} ({u.team})" if u.team else str(u)


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    reviews = list(Review.objects.order_by("-period_start", "kind")[:36])
    today = timezone.localdate()
    last_month = add_months(month_start(today), -1)
    return render(
        request,
        "metrics/review_list.html",
        {
            "reviews": reviews,
            "last_month": last_month,
            "last_month_open": any(r.kind == Review.Kind.MONTHLY and r.period_start == last_month for r in reviews),
            "can_record": is_lead_or_head(request.user),
            "page": "reviews",
            "section": "reviews",
        },
    )


@login_required
@require_POST
def review_open(request: HttpRequest) -> HttpResponse:
    try:
        month = date.fromisoformat(request.POST.get("month", ""))
    except ValueError:
        messages.error(request, "Choose the month to review.")
        return redirect("metrics:reviews")
    outcome = run_service(review_monthly_open, month=month, by=request.user)
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if not outcome.ok:
        messages.error(request, outcome.message)
        return redirect("metrics:reviews")
    return redirect("metrics:review", pk=outcome.result.pk)


def _review_context(request: HttpRequest, review: Review, *, record_form=None, action_form=None) -> dict:
    pack = review_pack(review)
    period = Filters(period="custom", start=review.period_start, end=review.period_end)
    return {
        "pack": pack,
        "review": review,
        "can_record": is_lead_or_head(request.user),
        "record_form": record_form
        or ReviewRecordForm(initial={"root_causes": review.root_causes, "notes": review.notes}),
        "action_form": action_form or ReviewActionForm(initial={"due_on": timezone.localdate() + timedelta(days=14)}),
        "dashboard_url": reverse("metrics:dashboard") + "?" + period.querystring(),
        "kpi_definitions": KPI_DEFINITIONS,
        "today": timezone.localdate(),
        "page": "reviews",
        "section": "reviews",
    }


@login_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review.objects.select_related("agreement", "completed_by"), pk=pk)
    return render(request, "metrics/review_detail.html", _review_context(request, review))


@login_required
@require_POST
def review_record(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review, pk=pk)
    if not is_lead_or_head(request.user):
        return forbidden(request, "Only team leads and department heads record a review.")
    form = ReviewRecordForm(request.POST)
    if form.is_valid():
        outcome = run_service(review_complete, form=form, review=review, by=request.user, **form.cleaned_data)
        if outcome.ok:
            messages.success(request, "Review recorded: root causes and notes saved, review closed.")
            return redirect("metrics:review", pk=review.pk)
        status = outcome.status
    else:
        status = 400
    context = _review_context(request, review, record_form=form)
    return render(request, "metrics/review_detail.html", context, status=status)


@login_required
@require_POST
def review_action_create(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review, pk=pk)
    if not is_lead_or_head(request.user):
        return forbidden(request, "Only team leads and department heads record review actions.")
    form = ReviewActionForm(request.POST)
    status = 400
    if form.is_valid():
        outcome = run_service(review_action_add, form=form, review=review, by=request.user, **form.cleaned_data)
        if outcome.ok:
            messages.success(request, f"Action added for {outcome.result.owner}, due {outcome.result.due_on:%d %b}.")
            form = None
            status = 200
        else:
            status = outcome.status
    context = _review_context(request, review, action_form=form)
    if getattr(request, "htmx", False):
        return htmx_fragment(request, "metrics/review_detail.html#actions", context, status=status)
    if status == 200:
        return redirect("metrics:review", pk=review.pk)
    return render(request, "metrics/review_detail.html", context, status=status)


@login_required
@require_POST
def review_action_close(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    action = get_object_or_404(ReviewAction.objects.select_related("review"), pk=action_pk, review_id=pk)
    outcome = run_service(review_action_done, action=action, by=request.user)
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if outcome.ok:
        messages.success(request, f"Done: {action.description}")
    else:
        messages.error(request, outcome.message)
    context = _review_context(request, action.review)
    if getattr(request, "htmx", False):
        return htmx_fragment(request, "metrics/review_detail.html#actions", context, status=outcome.status)
    return redirect("metrics:review", pk=pk)
