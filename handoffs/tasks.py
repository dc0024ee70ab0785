from celery import shared_task
from django.utils import timezone


@shared_task(name="handoffs.integrity_check", acks_late=True, ignore_result=True)
def integrity_check_task() -> int:
    """Daily: pause Marketing's hand-offs when data completeness falls below the agreement's threshold."""
    from .integrity import handoff_integrity_check

    return len(handoff_integrity_check(now=timezone.now()))
