"""The periodic jobs and their default schedule. Stored in the database (django-celery-beat) so admins can
change times in Django admin; `schedule_ensure` only adds what is missing and never overwrites an edit."""

# name: (task, every_seconds or None, crontab dict or None, description)
DEFAULT_SCHEDULE = {
    "SLA clock sweep": ("sla.clocks_sweep", 60, None, "Warn and breach commitment clocks."),
    "Send notifications": ("sla.deliveries_send", 60, None, "Deliver the outbox: e-mail and webhooks, with retries."),
    "Quarterly review check": ("sla.reviews_sweep", None, {"minute": "0", "hour": "7"}, "Open reviews, remind."),
    "Renewal eligibility": ("onboarding.renewals_check", None, {"minute": "0", "hour": "6"}, "Mark members."),
    "Hand-off data integrity": ("handoffs.integrity_check", None, {"minute": "30", "hour": "6"}, "Pause hand-offs."),
    "KPI evaluation": ("metrics.kpi_evaluate", None, {"minute": "0", "hour": "5"}, "Evaluate finished periods."),
    "Dashboard rollups": ("metrics.rollups_refresh", 900, None, "Keep daily rollups current."),
    "Idempotency-key purge": (
        "leads.idempotency_purge",
        None,
        {"minute": "15", "hour": "4"},
        "Forget intake retries older than a week.",
    ),
    "Weekly digest": (
        "metrics.weekly_digest",
        None,
        {"minute": "0", "hour": "8", "day_of_week": "1"},
        "Monday digest to team leads.",
    ),
}


def schedule_ensure(apps=None, time_zone: str = "UTC") -> int:
    """Create the missing periodic tasks. Works from a migration (historical `apps`) and from code."""
    if apps is None:
        from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
    else:
        CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")  # noqa: N806
        IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")  # noqa: N806
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")  # noqa: N806
    created = 0
    for name, (task, every, cron, description) in DEFAULT_SCHEDULE.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {"task": task, "description": description, "enabled": True}
        if every:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
        else:
            cron_fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
            cron_fields.update(cron)
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(timezone=time_zone, **cron_fields)
        PeriodicTask.objects.create(name=name, **fields)
        created += 1
    return created
