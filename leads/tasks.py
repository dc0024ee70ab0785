"""Celery tasks for leads: thin wrappers that take ids and call the import and intake functions.

Each is safe to run twice: an import job is claimed by a conditional UPDATE (a duplicate delivery finds it
taken), and the purge deletes by age."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

IDEMPOTENCY_RETENTION = timedelta(days=7)


@shared_task(acks_late=True)
def import_check_task(job_id: int) -> bool:
    from .csv_io import import_job_check

    return import_job_check(job_id) is not None


@shared_task(name="leads.import_run", acks_late=True)
def import_run_task(job_id: int) -> bool:
    from .csv_io import import_job_run

    return import_job_run(job_id) is not None


@shared_task(name="leads.idempotency_purge", acks_late=True, ignore_result=True)
def idempotency_records_purge_task() -> int:
    """Daily from beat: Idempotency-Key answers are kept for a retry window of a week."""
    from .intake import idempotency_records_purge

    return idempotency_records_purge(older_than=timezone.now() - IDEMPOTENCY_RETENTION)
