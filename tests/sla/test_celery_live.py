"""End to end with a real Celery worker and beat on Redis and PostgreSQL: a breached clock is swept by the
beat-scheduled task, escalated, and its e-mail delivered by the outbox task — no eager mode."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from sla.models import Delivery, Escalation, EscalationKind
from sla.schedule import schedule_ensure
from tests.factories import make_mql

pytestmark = [
    pytest.mark.celery_live,
    pytest.mark.skipif(
        not (settings.IS_POSTGRES and settings.REDIS_URL), reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)"
    ),
    pytest.mark.django_db(transaction=True),
]


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_worker_and_beat_fire_a_breach_end_to_end(agreement, users, tmp_path):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    # given: an MQL whose 24 h hand-off clock ran out yesterday, and a beat schedule tightened to seconds
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        lead = make_mql(owner=users["marketer"])
    schedule_ensure()
    fast, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task__in=["sla.clocks_sweep", "sla.deliveries_send"]).update(interval=fast)
    PeriodicTask.objects.exclude(task__in=["sla.clocks_sweep", "sla.deliveries_send"]).update(enabled=False)
    Delivery.objects.all().delete()  # only the breach's mail is of interest here
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "SLA_VAR_DIR": str(tmp_path),
    }
    log = (tmp_path / "worker.log").open("wb")  # noqa: SIM115 - closed in the finally below
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sla_portal",
            "worker",
            "--beat",
            "--pool",
            "solo",
            "-l",
            "INFO",
            "-Q",
            "celery",
            "--hostname",
            f"live-{os.getpid()}@%h",
            "--schedule",
            str(tmp_path / "beat"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # when: beat schedules the sweep, the worker runs it, then the outbox task sends the mail
        wait_for(
            lambda: Escalation.objects.filter(kind=EscalationKind.CLOCK_BREACH).exists(),
            timeout=90,
            what="the breach escalation",
        )
        wait_for(
            lambda: Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2,
            timeout=60,
            what="both breach e-mails to be sent",
        )
    except AssertionError:
        worker.terminate()
        worker.wait(10)
        print((tmp_path / "worker.log").read_text()[-5000:])
        raise
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(20)
        log.close()
    # then: exactly one breach, told to the owner and the team lead, mails on disk
    breach = Escalation.objects.get(kind=EscalationKind.CLOCK_BREACH)
    assert breach.clock.subject_id == lead.pk
    assert {n.recipient.username for n in breach.notifications.all()} == {"marketer", "marketing_lead"}
    mails = "".join(p.read_text() for p in Path(tmp_path / "mail").glob("*.log"))
    assert mails.count("Why you:") == 2
    assert "To: marketer@example.org" in mails and "To: marketing_lead@example.org" in mails
