"""Thin Celery tasks for the dashboards; each calls a service and is safe to rerun."""

from celery import shared_task
from django.utils import timezone

# The KPI evaluation task lives with its service in metrics.evaluation; importing it here registers it with the
# worker, which autodiscovers `tasks` modules only.
from .evaluation import kpi_evaluate_task  # noqa: F401


@shared_task(name="metrics.rollups_refresh", acks_late=True, ignore_result=True)
def rollups_refresh_task() -> int:
    """Every 15 minutes from beat: fold new events into the daily rollups; returns the days rebuilt."""
    from .rollups import rollups_refresh

    return rollups_refresh(now=timezone.now())


@shared_task(name="metrics.weekly_digest", acks_late=True, ignore_result=True)
def weekly_digest_task() -> int:
    """Monday morning from beat: the weekly digest to every team lead; returns the digests written."""
    from .services import weekly_digest_send

    return weekly_digest_send(now=timezone.now())
