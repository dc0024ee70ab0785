"""Thin Celery tasks for the SLA engine: each calls a service, is safe to rerun and to run twice at once."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="sla.clocks_sweep", acks_late=True, ignore_result=True)
def clocks_sweep_task() -> dict:
    """Every minute from beat: warnings and breaches, each exactly once."""
    from .escalations import clocks_sweep

    return clocks_sweep(now=timezone.now())


@shared_task(name="sla.deliveries_send", acks_late=True, ignore_result=True)
def deliveries_send_task() -> dict:
    """Every minute from beat, and kicked after each escalation commits: sends the outbox."""
    from .escalations import deliveries_send

    return deliveries_send()


@shared_task(name="sla.reviews_sweep", acks_late=True, ignore_result=True)
def reviews_sweep_task() -> dict:
    from .escalations import reviews_sweep

    return reviews_sweep(now=timezone.now())
