from celery import shared_task
from django.utils import timezone


@shared_task(name="onboarding.renewals_check", acks_late=True, ignore_result=True)
def renewals_check_task() -> int:
    """Daily: members inside the renewal window with enough engagement become renewal eligible."""
    from .services import memberships_mark_renewal_eligible

    return memberships_mark_renewal_eligible(at=timezone.now())
