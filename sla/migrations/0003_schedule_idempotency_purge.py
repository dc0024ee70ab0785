from django.conf import settings
from django.db import migrations


def add_missing_jobs(apps, schema_editor):
    from sla.schedule import schedule_ensure

    schedule_ensure(apps, time_zone=settings.TIME_ZONE)  # adds only what is missing; admins' edits stay


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_default_schedule")]

    operations = [migrations.RunPython(add_missing_jobs, migrations.RunPython.noop)]
