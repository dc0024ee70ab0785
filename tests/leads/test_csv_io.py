"""CSV import (check, all-or-nothing write, merge by e-mail, idempotent touchpoints, qualification through the
service), the browser screens and the management command, and the streamed export."""

import csv
import gc
import io
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from leads.csv_io import (
    BATCH_ROWS,
    NEW_LEAD_NEEDS_NAME,
    FileProblem,
    JobProgress,
    check_rows,
    csv_export_stream,
    export_cell,
    import_csv,
    import_job_run,
    parse_employees,
    parse_when,
    read_head,
    suggest_mapping,
)
from leads.models import ImportJob, Lead, LeadEvent, LeadState, Touchpoint
from sla.models import Clock, Commitment
from tests.factories import LeadFactory

HEADER = "Email,First name,Last name,Company,Industry,Employees,Activity,Date,Campaign\n"
MAPPING = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "organisation": "Company",
    "sector": "Industry",
    "employees": "Employees",
    "touchpoint_kind": "Activity",
    "touchpoint_at": "Date",
    "touchpoint_campaign": "Campaign",
}


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def opener(text: str, encoding: str = "utf-8"):
    data = text.encode(encoding)
    return lambda: io.BytesIO(data)


def run(text: str, users, **kwargs):
    return import_csv(opener(text), mapping=kwargs.pop("mapping", MAPPING), by=users["marketer"], **kwargs)


# --- reading and mapping ----------------------------------------------------------------------------------


def test_columns_are_guessed_from_common_header_names():
    header = ["E-mail Address", "Given name", "Surname", "Organization", "Industry", "Company size", "Activity", "Date"]
    mapping = suggest_mapping(header)
    assert mapping["first_name"] == "Given name" and mapping["last_name"] == "Surname"
    assert mapping["organisation"] == "Organization" and mapping["sector"] == "Industry"
    assert mapping["employees"] == "Company size" and mapping["touchpoint_kind"] == "Activity"
    assert mapping["touchpoint_at"] == "Date"
    assert suggest_mapping(["email", "e-mail"])["email"] == "email"


def test_the_head_sniffs_the_delimiter_and_drops_the_bom():
    head = read_head(io.BytesIO("\ufeffEmail;Name\na@b.org;A\n".encode()), encoding="utf-8-sig")
    assert head == {"header": ["Email", "Name"], "delimiter": ";", "rows": [["a@b.org", "A"]]}


def test_an_empty_file_is_a_file_problem():
    with pytest.raises(FileProblem):
        read_head(io.BytesIO(b"\n\n"), encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("raw", "band"), [("120", 150), ("1,200", 500), ("50-249", 150), ("250+", 500), ("1–9", 5), ("", 0)]
)
def test_employee_sizes_in_the_forms_people_write_them(raw, band):
    assert parse_employees(raw) == band


def test_dates_in_iso_and_british_forms():
    assert parse_when("2026-03-01 14:30").hour == 14
    assert parse_when("01/03/2026").month == 3
    assert parse_when("2026-03-01T14:30:00+01:00").utcoffset() == timedelta(hours=1)
    with pytest.raises(ValueError):
        parse_when("next tuesday")


# --- the check ----------------------------------------------------------------------------------------------


def test_the_dry_run_lists_every_bad_row_with_row_field_and_reason(users, agreement):
    # given: row numbers as a spreadsheet shows them (header = 1); a blank line still counts as a row
    text = (
        HEADER
        + "ok@example.org,Ok,,,,,,,\n"
        + "not-an-email,X,,,,,,,\n"
        + "\n"
        + "new@example.org,,,,,,,,\n"
        + "tp@example.org,Tp,,,,many,webinar,31/02/2026,\n"
        + "kind@example.org,K,,,,,juggling,,\n"
        + "extra@example.org,E,,,,,,,,surplus\n"
    )
    # when
    stats = run(text, users, dry_run=True)
    # then
    assert stats.rows == 6 and stats.error_count == 6
    assert [e.as_list() for e in stats.errors] == [
        [3, "email", "'not-an-email' is not a valid e-mail address."],
        [5, "first_name", NEW_LEAD_NEEDS_NAME],
        [6, "employees", "'many' is not a head count or a range such as 50-249."],
        [6, "touchpoint_at", "'31/02/2026' is not a date: use YYYY-MM-DD HH:MM or DD/MM/YYYY."],
        [
            7,
            "touchpoint_kind",
            "Unknown kind 'juggling'; use one of download, webinar, event, email_open, email_click, form, visit.",
        ],
        [8, "row", "This row has more cells than the header has columns."],
    ]
    assert not Lead.objects.exists()


def test_rows_for_existing_leads_need_no_first_name(users, agreement):
    LeadFactory(email="known@example.org")
    stats = run(HEADER + "KNOWN@example.org,,,,,,visit,,\n", users, dry_run=True)
    assert stats.error_count == 0 and stats.rows_for_existing == 1


def test_a_future_touchpoint_and_overlong_values_are_refused(users, agreement):
    future = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    text = HEADER + f"f@example.org,{'x' * 81},,,,,event,{future},\n"
    stats = run(text, users, dry_run=True)
    assert {(e.field, e.row) for e in stats.errors} == {("first_name", 2), ("touchpoint_at", 2)}


def test_a_file_in_the_wrong_encoding_stops_with_the_row(users, agreement):
    text = HEADER + "a@example.org,Zoë,,,,,,,\n"
    stats = import_csv(opener(text, "cp1252"), mapping=MAPPING, by=users["marketer"])
    assert stats.error_count == 1 and stats.errors[0].field == "file" and "UTF-8" in stats.errors[0].reason
    ok = import_csv(opener(text, "cp1252"), mapping=MAPPING, by=users["marketer"], encoding="cp1252")
    assert ok.error_count == 0 and Lead.objects.get().first_name == "Zoë"


def test_an_unreadable_csv_field_is_a_file_problem(users, agreement):
    text = HEADER + 'a@example.org,"' + "x" * 200_000 + '",,,,,,,\n'
    stats = run(text, users, dry_run=True)
    assert stats.errors[-1].field == "file" and "Malformed CSV" in stats.errors[-1].reason


def test_a_mapping_must_name_the_email_and_existing_columns(users, agreement):
    stats = run(HEADER, users, mapping={"first_name": "Nope"}, dry_run=True)
    assert stats.errors[0].row == 1 and "email" in stats.errors[0].reason and "Nope" in stats.errors[0].reason


# --- the import -------------------------------------------------------------------------------------------


def test_import_creates_merges_and_qualifies_through_the_service(users, agreement):
    # given: one known lead (different case), a new person on two rows, a prospect with one touchpoint
    known = LeadFactory(email="known@example.org", organisation="", sector="Retail", employees=150)
    text = (
        HEADER
        + "KNOWN@Example.org,,,Known Ltd,,,download,2026-01-10 10:00,\n"
        + "new@example.org,New,Person,,Technology,120,webinar,2026-01-11 10:00,Spring\n"
        + "NEW@example.org,New,,New Co,,,download,2026-01-12 10:00,Spring\n"
        + "solo@example.org,Solo,,,,,visit,,\n"
    )
    # when
    stats = run(text, users)
    # then
    assert (stats.written, stats.error_count, stats.rows) == (True, 0, 4)
    assert (stats.created, stats.updated, stats.touchpoints) == (2, 1, 4)
    assert Lead.objects.count() == 3
    new = Lead.objects.get(email__iexact="new@example.org")
    assert (new.first_name, new.last_name, new.organisation, new.employees, new.source) == (
        "New",
        "Person",
        "New Co",
        150,
        "import",
    )
    assert new.state == LeadState.MQL and new.touchpoint_count == 2 and new.score >= 50
    assert LeadEvent.objects.filter(lead=new, kind="mql_qualified", actor=users["marketer"]).count() == 1
    assert Clock.objects.filter(subject_id=new.pk, commitment=Commitment.MQL_HANDOFF).exists()
    known.refresh_from_db()
    assert known.organisation == "Known Ltd" and known.touchpoint_count == 1 and known.email == "known@example.org"
    assert LeadEvent.objects.filter(lead=new, kind="created").count() == 1
    assert LeadEvent.objects.filter(kind="touchpoint").count() == 4
    assert stats.qualified == 1


def test_one_bad_row_means_nothing_is_imported(users, agreement):
    text = HEADER + "good@example.org,Good,,,,,,,\n" * 3 + "bad,Bad,,,,,,,\n"
    stats = run(text, users)
    assert not stats.written and stats.error_count == 1 and stats.errors[0].row == 5
    assert not Lead.objects.exists()


def test_importing_the_same_file_twice_doubles_nothing(users, agreement):
    text = HEADER + "a@example.org,A,,,Retail,150,webinar,2026-01-10 10:00,\n"
    first = run(text, users)
    second = run(text, users)
    lead = Lead.objects.get()
    assert (first.created, first.touchpoints) == (1, 1)
    assert (second.created, second.touchpoints, second.duplicate_touchpoints) == (0, 0, 1)
    assert Touchpoint.objects.count() == 1 and lead.touchpoint_count == 1


def test_every_row_of_a_new_person_names_them_however_the_file_is_ordered(users, agreement):
    # given: the second row of a new person leaves the name out
    text = HEADER + "new@example.org,New,,,,,visit,,\n" + "NEW@example.org,,,,,,form,,\n"
    # when
    stats = run(text, users)
    # then: the same verdict in the dry run and the import, whatever the batch boundaries
    assert [e.as_list() for e in stats.errors] == [[3, "first_name", NEW_LEAD_NEEDS_NAME]]
    assert not Lead.objects.exists()


def test_merges_rows_of_one_person_across_batches(users, agreement, monkeypatch):
    import leads.csv_io as csv_io

    monkeypatch.setattr(csv_io, "BATCH_ROWS", 2)
    LeadFactory(email="a@example.org")
    text = HEADER + "a@example.org,A,,,,,visit,,\n" + "b@example.org,B,,,,,visit,,\n" + "A@example.org,,,,,,form,,\n"
    stats = run(text, users)
    assert (stats.created, stats.updated) == (1, 1) and Lead.objects.count() == 2
    assert Lead.objects.get(email="a@example.org").touchpoint_count == 2


def test_a_formula_guard_from_an_export_is_undone_on_import(users, agreement):
    run(HEADER + "f@example.org,'=Ann,,,,,,,\n", users)
    assert Lead.objects.get().first_name == "=Ann"


def test_no_active_agreement_is_refused_before_anything_is_written(users):
    stats_or_error = None
    try:
        stats_or_error = run(HEADER + "a@example.org,A,,,,,,,\n", users)
    except Exception as exc:  # noqa: BLE001
        stats_or_error = exc
    assert not Lead.objects.exists()
    assert "No SLA agreement is active" in str(stats_or_error)


# --- export ------------------------------------------------------------------------------------------------


def test_export_cells():
    assert export_cell(None) == "" and export_cell(True) == "true"
    assert export_cell("=1+1") == "'=1+1" and export_cell("@SUM(A1)") == "'@SUM(A1)"
    assert export_cell("+44 20 7946 0000") == "+44 20 7946 0000" and export_cell("-12.5") == "-12.5"
    assert export_cell({"a": 1}) == '{"a": 1}'


def test_export_streams_in_chunks():
    rows = ([i, f"name {i}"] for i in range(20_000))
    chunks = list(csv_export_stream(["id", "name"], rows, chunk_bytes=4096))
    assert len(chunks) > 10 and all(len(c) < 4096 + 100 for c in chunks)
    parsed = list(csv.reader(io.StringIO("".join(chunks))))
    assert parsed[0] == ["id", "name"] and parsed[-1] == ["19999", "name 19999"] and len(parsed) == 20_001


# --- the browser screens -----------------------------------------------------------------------------------


@pytest.fixture
def marketer_client(client, users, agreement):
    client.force_login(users["marketer"])
    return client


def _upload(client, text: str, name: str = "leads.csv"):
    return client.post(
        reverse("imports:list"), {"file": SimpleUploadedFile(name, text.encode()), "encoding": "utf-8-sig"}
    )


def test_upload_map_check_and_import_in_the_browser(marketer_client, users):
    # given
    text = HEADER + "a@example.org,A,,,Retail,150,webinar,2026-01-10 10:00,\n"
    # when: upload → the mapping page with the guessed columns and a preview
    uploaded = _upload(marketer_client, text)
    job = ImportJob.objects.get()
    mapping_page = marketer_client.get(reverse("imports:mapping", args=[job.pk]))
    # then
    assert uploaded.status_code == 302 and uploaded["Location"] == reverse("imports:mapping", args=[job.pk])
    assert job.mapping["email"] == "Email" and job.mapping["touchpoint_kind"] == "Activity"
    assert b"a@example.org" in mapping_page.content
    assert marketer_client.get(reverse("imports:list")).status_code == 200
    # when: the dry run (small file: done in the request)
    checked = marketer_client.post(reverse("imports:mapping", args=[job.pk]), job.mapping)
    job.refresh_from_db()
    # then
    assert checked.status_code == 302
    assert (job.status, job.row_count, job.error_count) == (ImportJob.Status.CHECKED, 1, 0)
    assert not Lead.objects.exists()
    page = marketer_client.get(reverse("imports:job", args=[job.pk]))
    assert b"Import 1 rows" in page.content
    # when: the import
    marketer_client.post(reverse("imports:run", args=[job.pk]))
    job.refresh_from_db()
    # then
    assert job.status == ImportJob.Status.DONE and job.created_count == 1 and job.touchpoint_count == 1
    assert Lead.objects.get().email == "a@example.org"
    assert not job.file  # the personal data now lives in the leads only


def test_the_dry_run_page_lists_the_bad_rows_and_offers_them_all_as_csv(marketer_client):
    _upload(marketer_client, HEADER + "bad,B,,,,,,,\n" + "new@example.org,,,,,,,,\n")
    job = ImportJob.objects.get()
    marketer_client.post(reverse("imports:mapping", args=[job.pk]), job.mapping)
    page = marketer_client.get(reverse("imports:job", args=[job.pk]))
    errors_csv = marketer_client.get(reverse("imports:errors_csv", args=[job.pk]))
    refused = marketer_client.post(reverse("imports:run", args=[job.pk]))
    job.refresh_from_db()
    assert b"Rows to fix" in page.content and b"is not a valid e-mail address" in page.content
    lines = list(csv.reader(io.StringIO(b"".join(errors_csv.streaming_content).decode())))
    assert lines == [
        ["row", "field", "reason"],
        ["2", "email", "'bad' is not a valid e-mail address."],
        ["3", "first_name", NEW_LEAD_NEEDS_NAME],
    ]
    assert refused.status_code == 302 and job.status == ImportJob.Status.CHECKED
    assert not Lead.objects.exists()


def test_the_mapping_needs_an_email_column(marketer_client):
    _upload(marketer_client, HEADER)
    job = ImportJob.objects.get()
    response = marketer_client.post(reverse("imports:mapping", args=[job.pk]), {"first_name": "First name"})
    assert response.status_code == 400
    assert ImportJob.objects.get().status == ImportJob.Status.UPLOADED


def test_an_unreadable_upload_is_refused_on_the_form(marketer_client):
    response = _upload(marketer_client, "")
    assert response.status_code == 400 and not ImportJob.objects.exists()


def test_large_files_go_to_celery_and_the_page_polls_progress(
    marketer_client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given: every file counts as large; the queue is recorded instead of sent
    from leads import tasks

    settings.LEADS_IMPORT_INLINE_MAX_BYTES = 0
    queued = []
    monkeypatch.setattr(tasks.import_check_task, "apply_async", lambda args, **kw: queued.append(("check", *args)))
    monkeypatch.setattr(tasks.import_run_task, "apply_async", lambda args, **kw: queued.append(("run", *args)))
    _upload(marketer_client, HEADER + "a@example.org,A,,,,,,,\n")
    job = ImportJob.objects.get()
    # when
    with django_capture_on_commit_callbacks(execute=True):  # queued once the request's work commits
        marketer_client.post(reverse("imports:mapping", args=[job.pk]), job.mapping)
    polling = marketer_client.get(reverse("imports:job", args=[job.pk]))
    tasks.import_check_task(job.pk)  # the worker
    finished = marketer_client.get(reverse("imports:progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    # then
    assert queued == [("check", job.pk)]
    assert b'hx-trigger="every 1s"' in polling.content and b"<progress" in polling.content
    assert finished["HX-Refresh"] == "true"
    assert ImportJob.objects.get().status == ImportJob.Status.CHECKED


def test_a_job_is_claimed_once(users, agreement):
    job = ImportJob(
        created_by=users["marketer"], original_name="x.csv", mapping={"email": "Email", "first_name": "First name"}
    )
    job.file.save("x.csv", SimpleUploadedFile("x.csv", HEADER.encode() + b"a@example.org,A,,,,,,,\n"), save=False)
    job.size_bytes, job.status = job.file.size, ImportJob.Status.QUEUED
    job.save()
    assert import_job_run(job.pk) is not None
    assert import_job_run(job.pk) is None  # a second delivery of the task finds it taken
    assert Lead.objects.count() == 1 and ImportJob.objects.get().status == ImportJob.Status.DONE


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's single writer")
def test_on_sqlite_progress_is_written_while_checking_not_while_writing(users, db):
    job = ImportJob.objects.create(created_by=users["marketer"], original_name="x.csv")
    progress = JobProgress(job, every_rows=1)
    progress(ImportJob.Phase.VALIDATING, 10, 5)
    assert ImportJob.objects.get().processed_rows == 10
    progress(ImportJob.Phase.WRITING, 20, 10)  # the import transaction holds the only write lock
    assert ImportJob.objects.get().processed_rows == 10


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second writer needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_page_sees_progress_while_the_import_transaction_is_open(users):
    job = ImportJob.objects.create(created_by=users["marketer"], original_name="x.csv")
    progress = JobProgress(job, every_rows=1)
    with transaction.atomic():
        progress(ImportJob.Phase.WRITING, 2000, 40)
        page = connections.create_connection(DEFAULT_DB_ALIAS)  # what the polling request's connection sees
        try:
            with page.cursor() as cursor:
                cursor.execute(f"SELECT processed_rows FROM {ImportJob._meta.db_table} WHERE id = %s", [job.pk])
                assert cursor.fetchone()[0] == 2000
        finally:
            page.close()
            progress.close()


def test_only_marketing_imports_and_jobs_stay_private(client, users, agreement):
    client.force_login(users["rep"])
    assert client.get(reverse("imports:list")).status_code == 403
    job = ImportJob.objects.create(created_by=users["marketing_lead"], original_name="x.csv")
    client.force_login(users["marketer"])
    assert client.get(reverse("imports:job", args=[job.pk])).status_code == 404


# --- the management command ------------------------------------------------------------------------------


def test_the_command_dry_run_reports_every_bad_row(users, agreement, tmp_path, capsys):
    path = tmp_path / "leads.csv"
    path.write_text(HEADER + "bad,B,,,,,,,\n" + "ok@example.org,Ok,,,,,,,\n")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_leads", str(path), "--user", "marketer", "--dry-run")
    assert "row 2, email: 'bad' is not a valid e-mail address." in capsys.readouterr().err
    assert not Lead.objects.exists()


def test_the_command_imports_with_an_explicit_mapping(users, agreement, tmp_path, capsys):
    path = tmp_path / "leads.csv"
    path.write_text("Mail;Who\nx@example.org;Xena\n")
    call_command("import_leads", str(path), "--user", "marketer", "--map", "email=Mail", "--map", "first_name=Who")
    assert "Imported 1 rows: 1 new leads" in capsys.readouterr().out
    assert Lead.objects.get().first_name == "Xena"


def test_the_command_refuses_unknown_fields_and_users(users, agreement, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(HEADER)
    with pytest.raises(CommandError, match="FIELD=COLUMN"):
        call_command("import_leads", str(path), "--user", "marketer", "--map", "shoe_size=Email")
    with pytest.raises(CommandError, match="No active user"):
        call_command("import_leads", str(path), "--user", "ghost")


# --- 100,000 rows ------------------------------------------------------------------------------------------


def write_rows(path: Path, count: int) -> None:
    """Prospects with one touchpoint each; every 10th person appears twice (merged); a third of them fit the IMP
    and reach MQL thresholds with their two touchpoints."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Email", "First name", "Company", "Industry", "Employees", "Activity", "Date"])
        for i in range(count):
            person = i - 1 if i % 10 == 9 else i
            sector = "Manufacturing" if person % 3 == 0 else "Farming"
            day = f"2026-01-{1 + i % 28:02d} {9 + i % 8}:00"
            writer.writerow([f"p{person}@bulk.example", f"P{person}", f"Org {person}", sector, 150, "webinar", day])


def measure_import(path: Path, users) -> tuple[float, int, object]:
    """Seconds, and the most Python memory blocks alive at any batch boundary beyond what was alive before.

    sys.getallocatedblocks() is cheap enough to sample on every progress call, so this runs at full speed
    (tracemalloc's exact peak is in benchmarks/import_100k.py: it slows the import down about six times)."""
    gc.collect()
    baseline = sys.getallocatedblocks()
    samples = [baseline]
    started = time.perf_counter()
    stats = import_csv(
        lambda: path.open("rb"),
        mapping={
            "email": "Email",
            "first_name": "First name",
            "organisation": "Company",
            "sector": "Industry",
            "employees": "Employees",
            "touchpoint_kind": "Activity",
            "touchpoint_at": "Date",
        },
        by=users["marketer"],
        on_progress=lambda phase, rows, pct: samples.append(sys.getallocatedblocks()),
    )
    return time.perf_counter() - started, max(samples) - baseline, stats


@pytest.mark.slow
def test_a_100k_row_import_streams_in_flat_memory(users, agreement, tmp_path):
    """The Python objects alive while importing stay at the size of one batch, for 10,000 rows as for 100,000
    (SQLite's in-memory test database is not Python memory and is not counted)."""
    # given
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_rows(small, 10_000)
    write_rows(large, 100_000)
    # when
    small_time, small_growth, small_stats = measure_import(small, users)
    Lead.objects.all().delete()
    large_time, large_growth, large_stats = measure_import(large, users)
    # then
    print(
        f"\n10k rows: {small_time:.1f}s, +{small_growth:,} blocks; "
        f"100k rows: {large_time:.1f}s, +{large_growth:,} blocks at most"
    )
    assert large_stats.written and large_stats.rows == 100_000 and large_stats.error_count == 0
    assert (large_stats.created, large_stats.touchpoints) == (90_000, 100_000)
    assert Lead.objects.count() == 90_000 and Touchpoint.objects.count() == 100_000
    assert large_stats.qualified == Lead.objects.filter(state=LeadState.MQL).count() == 3_333
    assert small_stats.qualified == 333
    # ten times the rows, the same working set (holding the rows would add ~100,000 blocks per 10,000 rows)
    assert large_growth < small_growth * 1.5 + 10_000
    assert BATCH_ROWS <= 5_000


def test_check_rows_is_a_generator_that_reads_lazily(users, agreement):
    rows = check_rows(opener(HEADER + "bad,B,,,,,,,\n"), mapping=MAPPING, encoding="utf-8-sig", delimiter=",")
    assert next(rows).row == 2


def test_a_row_lists_all_its_problems_including_the_missing_name(users, agreement):
    stats = run(HEADER + "new@example.org,,,,,,juggling,,\n", users, dry_run=True)
    assert [(e.row, e.field) for e in stats.errors] == [(2, "first_name"), (2, "touchpoint_kind")]
