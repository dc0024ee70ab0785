from django.conf import settings
from django.db import migrations


def add_schedule(apps, schema_editor):
    from sla.schedule import schedule_ensure

    schedule_ensure(apps, time_zone=settings.TIME_ZONE)


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, migrations.RunPython.noop)]
