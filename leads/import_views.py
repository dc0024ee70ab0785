"""The CSV import screens: upload, map the columns (with a preview), dry run, then the all-or-nothing import.

Small files are checked and imported inside the request; larger ones run as Celery tasks and the job page shows
a progress bar that htmx polls. Who may import comes from sla_portal.policy (Marketing, admins)."""

import logging
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import TeamKind
from sla.views import forbidden
from sla_portal import policy

from .csv_io import (
    ENCODINGS,
    IMPORT_FIELDS,
    FileProblem,
    errors_csv_stream,
    import_job_check,
    import_job_run,
    mapping_errors,
    read_head,
    suggest_mapping,
)
from .models import ImportJob

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
INLINE_MAX_BYTES = 256 * 1024  # about 2,000 rows: quicker to do now than to queue


def max_upload_bytes() -> int:
    return int(getattr(settings, "LEADS_IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES))


def inline_max_bytes() -> int:
    return int(getattr(settings, "LEADS_IMPORT_INLINE_MAX_BYTES", INLINE_MAX_BYTES))


def may_import(user) -> bool:
    return policy.can_act_for_team(user, TeamKind.MARKETING)


NOT_ALLOWED = "Importing prospects is Marketing's job: ask a Marketing colleague or an admin."


def _jobs(user):
    jobs = ImportJob.objects.select_related("created_by")
    return jobs if policy.is_admin(user) else jobs.filter(created_by=user)


def _job(request, pk: int) -> ImportJob:
    job = _jobs(request.user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such import.")
    return job


# --- upload ---------------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="The first row names the columns.")
    encoding = forms.ChoiceField(
        choices=list(ENCODINGS.items()), initial="utf-8-sig", help_text="UTF-8 unless it came from old Excel."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,}.")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload

    def clean(self):
        data = super().clean()
        upload, encoding = data.get("file"), data.get("encoding")
        if upload and encoding:
            upload.seek(0)
            try:
                data["head"] = read_head(upload, encoding=encoding)
            except FileProblem as problem:
                self.add_error("file", problem.reason)
            finally:
                upload.seek(0)
        return data


@login_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    if not may_import(request.user):
        return forbidden(request, NOT_ALLOWED)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload, head = form.cleaned_data["file"], form.cleaned_data["head"]
        job = ImportJob(
            created_by=request.user,
            original_name=Path(upload.name).name[:255],
            size_bytes=upload.size,
            encoding=form.cleaned_data["encoding"],
            delimiter=head["delimiter"],
            header=head["header"],
            mapping=suggest_mapping(head["header"]),
        )
        job.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)  # never a user-chosen path
        job.save()
        return redirect("imports:mapping", pk=job.pk)
    jobs = _jobs(request.user)[:20]
    return render(
        request,
        "leads/import_list.html",
        {"form": form, "jobs": jobs, "section": "imports", "max_bytes": max_upload_bytes(), "fields": IMPORT_FIELDS},
        status=400 if form.errors else 200,
    )


# --- mapping --------------------------------------------------------------------------------------------


class MappingForm(forms.Form):
    """One select per portal field: which CSV column fills it."""

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        choices = [("", "— not in the file —"), *[(column, column) for column in header if column]]
        for f in IMPORT_FIELDS:
            self.fields[f.name] = forms.ChoiceField(
                label=f.label, choices=choices, required=f.name == "email", help_text=f.help
            )

    def clean(self):
        data = super().clean()
        mapping = {f.name: data[f.name] for f in IMPORT_FIELDS if data.get(f.name)}
        for name, reason in mapping_errors(mapping, self.header).items():
            self.add_error(name if name in self.fields else None, reason)
        data["mapping"] = mapping
        return data


def _preview(job: ImportJob) -> list[list[tuple[str, str]]]:
    """The first rows as the mapping reads them: (portal field, value) pairs."""
    with job.file.storage.open(job.file.name, "rb") as raw:
        head = read_head(raw, encoding=job.encoding, delimiter=job.delimiter)
    index = {column: i for i, column in enumerate(head["header"])}
    rows = []
    for cells in head["rows"]:
        row = []
        for f in IMPORT_FIELDS:
            column = job.mapping.get(f.name)
            if column in index:
                position = index[column]
                row.append((f.label, cells[position] if position < len(cells) else ""))
        rows.append(row)
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def import_mapping(request, pk: int):
    if not may_import(request.user):
        return forbidden(request, NOT_ALLOWED)
    job = _job(request, pk)
    if job.status not in {ImportJob.Status.UPLOADED, ImportJob.Status.CHECKED, ImportJob.Status.FAILED} or not job.file:
        messages.info(request, "This import can no longer be changed.")
        return redirect("imports:job", pk=job.pk)
    form = MappingForm(request.POST or None, header=job.header, initial=job.mapping)
    if request.method == "POST" and form.is_valid():
        job.mapping = form.cleaned_data["mapping"]
        job.status = ImportJob.Status.CHECKING
        job.error_count, job.errors, job.message = 0, [], ""
        job.progress_pct = job.processed_rows = 0
        job.save()
        _dispatch(job, "check")
        return redirect("imports:job", pk=job.pk)
    try:
        preview = _preview(job)
    except FileProblem as problem:
        preview = []
        messages.error(request, problem.reason)
    return render(
        request,
        "leads/import_mapping.html",
        {"job": job, "form": form, "preview": preview, "section": "imports"},
        status=400 if form.errors else 200,
    )


# --- running --------------------------------------------------------------------------------------------


def _dispatch(job: ImportJob, what: str) -> None:
    """Small files now, in this request; large ones on the Celery queue once this transaction commits."""
    work = import_job_check if what == "check" else import_job_run
    if job.size_bytes <= inline_max_bytes():
        work(job.pk)
        return
    from .tasks import import_check_task, import_run_task

    task = import_check_task if what == "check" else import_run_task

    def enqueue():
        try:
            task.apply_async(args=[job.pk], retry=False)
        except Exception:  # noqa: BLE001 - a broker outage must leave a clear job state, not a 500
            log.exception("could not enqueue import job %s", job.pk)
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.CHECKED if what == "run" else ImportJob.Status.UPLOADED,
                message="The task queue could not be reached; nothing was done. Try again in a moment.",
            )

    transaction.on_commit(enqueue)


@login_required
def import_job(request, pk: int):
    if not may_import(request.user):
        return forbidden(request, NOT_ALLOWED)
    job = _job(request, pk)
    return render(request, "leads/import_job.html", {"job": job, "section": "imports"})


@login_required
def import_progress(request, pk: int):
    """The progress fragment htmx polls; once the job has finished, the whole page reloads with the result."""
    if not may_import(request.user):
        return forbidden(request, NOT_ALLOWED)
    job = _job(request, pk)
    response = render(request, "leads/import_job.html#progress", {"job": job})
    if getattr(request, "htmx", False) and not job.is_running:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def import_run(request, pk: int):
    if not may_import(request.user):
        return forbidden(request, NOT_ALLOWED)
    with transaction.atomic():
        job = _jobs(request.user).select_for_update().filter(pk=pk).first()
        if job is None:
            raise Http404("No such import.")
        if job.status != ImportJob.Status.CHECKED or job.error_count or not job.row_count:
            messages.error(request, "Only a checked file without problems can be imported.")
            return redirect("imports:job", pk=job.pk)
        job.status = ImportJob.Status.QUEUED
        job.progress_pct = job.processed_rows = 0
        job.message = ""
        job.started_at = job.finished_at = None
        job.save()
    _dispatch(job, "run")
    return redirect("imports:job", pk=job.pk)


@login_required
def import_errors_csv(request, pk: int):
    if not may_import(request.user):
        return forbidden(request, NOT_ALLOWED)
    job = _job(request, pk)
    if not job.file or job.is_running:
        return HttpResponse("The errors of this import can no longer be listed.", status=409, content_type="text/plain")
    response = StreamingHttpResponse(errors_csv_stream(job), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors-{stamp}.csv"'
    return response
