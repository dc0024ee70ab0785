"""CSV import of prospects and touchpoints, and streamed CSV export of any list.

Import, in two passes over the file, both streamed in batches so memory stays flat however long the file is:

1. Check: every row is cleaned and checked (the dry run is exactly this pass). Every bad row is reported with its
   row number (the header is row 1, as a spreadsheet shows it), the field and the reason.
2. Write, only when the check found nothing: one transaction for the whole file, so an import lands completely
   or not at all. Rows are merged by e-mail (case-insensitive) into existing leads, following the intake rules
   (leads.intake.lead_changes); touchpoints with a date are keyed, so importing the same file twice does not
   double them; leads are re-scored with leads.services.lead_score, and a lead that now meets the agreement's
   thresholds qualifies through leads.services.lead_transition and sla.clocks.clock_start, the same calls
   lead_qualify makes (MQL event, hand-off clock), with the agreement read once per import instead of per lead.

Bulk writes replace the per-row services for creating and updating rows only; the rows and event rows they write
are the ones lead_create / lead_update / touchpoint_record would write.
"""

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Count, Sum
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import TeamKind, User
from sla.clocks import clock_start
from sla.models import Commitment
from sla.services import agreement_active
from sla_portal.errors import DomainError

from .intake import UPDATABLE_FIELDS, employees_bucket, lead_changes
from .models import (
    TOUCHPOINT_POINTS,
    ImportJob,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadSource,
    LeadState,
    OrgSize,
    Touchpoint,
    TouchpointKind,
)
from .services import QUALIFIABLE_STATES, lead_meets_mql, lead_score, lead_transition

BATCH_ROWS = 1000
ERRORS_KEPT = 500  # on the job; the full list streams from errors.csv and the management command
MAX_POINTS = 10_000
FUTURE_SKEW = timedelta(minutes=5)
ENCODINGS = {
    "utf-8-sig": "UTF-8 (also with a byte-order mark)",
    "cp1252": "Windows-1252 (older Excel on Windows)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "utf-16": "UTF-16 (Excel 'Unicode text')",
}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Each row stands on its own (so the check needs no memory of earlier rows and a dry run and the import agree):
# a row for an e-mail the portal does not know yet creates the lead, so it must name the person.
NEW_LEAD_NEEDS_NAME = "Required: this e-mail is not a lead yet, and every row for a new lead must give a first name."


@dataclass(frozen=True)
class ImportField:
    name: str
    label: str
    aliases: tuple[str, ...] = ()
    help: str = ""


IMPORT_FIELDS: tuple[ImportField, ...] = (
    ImportField("email", "E-mail (required)", ("email", "emailaddress", "mail", "workemail", "e-mail")),
    ImportField(
        "first_name",
        "First name",
        ("firstname", "first", "givenname", "forename"),
        "Required on every row whose e-mail is not a lead yet.",
    ),
    ImportField("last_name", "Last name", ("lastname", "surname", "familyname", "last")),
    ImportField("phone", "Phone", ("phone", "telephone", "tel", "mobile", "phonenumber")),
    ImportField("job_title", "Job title", ("jobtitle", "title", "position")),
    ImportField("organisation", "Organisation", ("organisation", "organization", "company", "companyname", "org")),
    ImportField("sector", "Sector", ("sector", "industry")),
    ImportField("region", "Region", ("region", "country", "location")),
    ImportField(
        "employees",
        "Employees",
        ("employees", "employeecount", "companysize", "headcount", "numberofemployees", "orgsize", "size"),
        "A head count (120), a range (50-249, 250+) or blank.",
    ),
    ImportField("source", "Source", ("source", "leadsource"), "website, webinar, event, …; blank means import."),
    ImportField("campaign", "Campaign", ("campaign", "utmcampaign", "campaignname")),
    ImportField("interest", "Interest", ("interest", "interests")),
    ImportField(
        "touchpoint_kind",
        "Touchpoint kind",
        ("touchpointkind", "touchpoint", "activity", "activitytype", "interaction"),
        "download, webinar, event, email_open, email_click, form, visit; blank: no touchpoint.",
    ),
    ImportField(
        "touchpoint_at",
        "Touchpoint date/time",
        ("touchpointat", "touchpointdate", "activitydate", "date", "timestamp", "occurredat"),
        "ISO 8601 (2026-03-01 14:30) or DD/MM/YYYY. With a date, re-importing never doubles the touchpoint.",
    ),
    ImportField("touchpoint_points", "Touchpoint points", ("points", "touchpointpoints")),
    ImportField("touchpoint_campaign", "Touchpoint campaign", ("touchpointcampaign", "activitycampaign")),
    ImportField("touchpoint_detail", "Touchpoint detail", ("touchpointdetail", "detail", "details", "asset")),
)
FIELD_NAMES = tuple(f.name for f in IMPORT_FIELDS)
LEAD_TEXT_FIELDS = ("first_name", "last_name", "phone", "job_title", "organisation", "sector", "region", "campaign")
TOUCHPOINT_FIELDS = (
    "touchpoint_kind",
    "touchpoint_at",
    "touchpoint_points",
    "touchpoint_campaign",
    "touchpoint_detail",
)


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


MAX_LENGTHS = {name: _max_length(Lead, name) for name in LEAD_TEXT_FIELDS} | {
    "email": _max_length(Lead, "email"),
    "interest": 10_000,
    "touchpoint_campaign": _max_length(Touchpoint, "campaign"),
    "touchpoint_detail": _max_length(Touchpoint, "detail"),
}


# --- reading the file ------------------------------------------------------------------------------------


class FileProblem(Exception):
    """The file cannot be read on from `row` on (encoding, quoting, header): reported like a row error."""

    def __init__(self, row: int, reason: str):
        super().__init__(reason)
        self.row = row
        self.reason = reason


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str

    def as_list(self) -> list:
        return [self.row, self.field, self.reason]


class _CountingReader(io.RawIOBase):
    """Counts the bytes the CSV reader consumed, for a progress figure before the row count is known."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.raw.read(len(buffer))
        size = len(chunk)
        buffer[:size] = chunk
        self.consumed += size
        return size


def _normalise_header(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _decode_error(row: int, encoding: str) -> FileProblem:
    label = ENCODINGS.get(encoding, encoding)
    return FileProblem(row, f"The file is not valid {label} from here on; choose the encoding it was saved in.")


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_head(raw: BinaryIO, *, encoding: str, delimiter: str | None = None, sample_rows: int = 5) -> dict:
    """Header, delimiter and the first rows, for the column-mapping preview. Raises FileProblem."""
    if encoding not in ENCODINGS:
        raise FileProblem(1, f"Unknown encoding {encoding!r}.")
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    try:
        first = text.readline()
        if not first.strip():
            raise FileProblem(1, "The file is empty: the first row must name the columns.")
        delimiter = delimiter or sniff_delimiter(first)
        header = next(csv.reader([first], delimiter=delimiter))
        rows = []
        reader = csv.reader(text, delimiter=delimiter)
        for cells in reader:
            if len(rows) >= sample_rows:
                break
            if any(c.strip() for c in cells):
                rows.append(cells)
    except UnicodeDecodeError as exc:
        raise _decode_error(1, encoding) from exc
    except csv.Error as exc:
        raise FileProblem(2, f"Malformed CSV: {exc}.") from exc
    finally:
        text.detach()
    header = [h.strip() for h in header]
    if not any(header):
        raise FileProblem(1, "The first row must name the columns.")
    return {"header": header, "delimiter": delimiter, "rows": rows}


def suggest_mapping(header: list[str]) -> dict[str, str]:
    """Target field → CSV column, guessed from the column names (exact field names win over aliases)."""
    normalised = {}
    for column in header:
        normalised.setdefault(_normalise_header(column), column)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for candidate_pass in ("name", "alias"):
        for f in IMPORT_FIELDS:
            if f.name in mapping:
                continue
            keys = (_normalise_header(f.name),) if candidate_pass == "name" else f.aliases
            for key in keys:
                column = normalised.get(_normalise_header(key))
                if column and column not in used:
                    mapping[f.name] = column
                    used.add(column)
                    break
    return mapping


def mapping_errors(mapping: dict[str, str], header: list[str]) -> dict[str, str]:
    errors = {}
    for name in mapping:
        if name not in FIELD_NAMES:
            errors[name] = "Unknown field."
    if not mapping.get("email"):
        errors["email"] = "Map the column that holds the e-mail address."
    for name, column in mapping.items():
        if name in FIELD_NAMES and column and column not in header:
            errors[name] = f"The file has no column {column!r}."
        elif column and header.count(column) > 1:
            errors[name] = f"The column {column!r} appears more than once in the header."
    return errors


def _rows(
    raw: BinaryIO, *, mapping: dict[str, str], encoding: str, delimiter: str
) -> Iterator[tuple[int, dict[str, str] | None, int]]:
    """(row number, {field: raw value} or None for an over-long row, bytes read) for every non-blank row."""
    counting = _CountingReader(raw)
    text = io.TextIOWrapper(io.BufferedReader(counting, 64 * 1024), encoding=encoding, newline="")
    reader = csv.reader(text, delimiter=delimiter)
    number = 1
    try:
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise FileProblem(1, "The file is empty: the first row must name the columns.") from None
        problems = mapping_errors(mapping, header)
        if problems:
            raise FileProblem(1, "; ".join(f"{k}: {v}" for k, v in problems.items()))
        index = {name: header.index(column) for name, column in mapping.items() if column}
        width = len(header)
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > width:
                yield number, None, counting.consumed
                continue
            yield number, {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}, counting.consumed
    except UnicodeDecodeError as exc:
        raise _decode_error(number + 1, encoding) from exc
    except csv.Error as exc:
        raise FileProblem(number + 1, f"Malformed CSV: {exc}.") from exc
    finally:
        text.detach()


# --- cleaning one row ------------------------------------------------------------------------------------


@dataclass
class CleanRow:
    number: int
    email_key: str = ""  # lower-cased; empty unless the e-mail is valid
    lead: dict = field(default_factory=dict)
    touchpoint: dict | None = None
    errors: list[RowError] = field(default_factory=list)


_SAFE_SIGNED = re.compile(r"[+-][\d\s().-]*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _unescape(value: str) -> str:
    """Undo the export's formula guard ('=SUM(…) was exported as '=SUM(…))."""
    return value[1:] if value[:1] == "'" and value[1:2] in _FORMULA_START and len(value) > 1 else value


def _lookup(choices) -> dict[str, str]:
    """Code or label, any case → code."""
    table = {}
    for code, label in choices:
        table[str(label).lower()] = code
        table[str(code).lower()] = code
    return table


SOURCES = _lookup(LeadSource.choices)
TOUCHPOINT_KINDS = _lookup(TouchpointKind.choices)


def _choice(value: str, table: dict[str, str]) -> str | None:
    return table.get(value.strip().lower())


def parse_employees(value: str) -> int:
    """'120', '1,200', '50-249', '250+', '1–9' or a size label → OrgSize bucket. Raises ValueError."""
    text = value.strip().lower()
    if text in {"", "unknown", "n/a"}:
        return OrgSize.UNKNOWN
    for code, label in OrgSize.choices:
        if text == str(label).lower():
            return code
    match = re.fullmatch(r"(\d[\d,\s]*)\s*(?:(?:-|–|to)\s*\d[\d,\s]*|\+)?", text)
    if not match:
        raise ValueError(value)
    return employees_bucket(int(re.sub(r"[,\s]", "", match.group(1))))


_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_when(value: str) -> datetime:
    """ISO 8601 date or date-time, or DD/MM/YYYY[ HH:MM]; naive values are in the portal's time zone."""
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = parse_datetime(text)
        if parsed is None:
            day = parse_date(text)
            if day is not None:
                parsed = datetime.combine(day, time())
        if parsed is None and (m := _DMY.fullmatch(text)):
            d, mo, y, h, mi, s = (int(g) if g else 0 for g in m.groups())
            parsed = datetime(y, mo, d, h, mi, s)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(value)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def touchpoint_import_key(email_key: str, touchpoint: dict) -> str:
    """The same dated touchpoint of the same person is one fact, however often it is imported."""
    basis = "|".join(
        [email_key, touchpoint["kind"], touchpoint["at"].isoformat(), touchpoint["campaign"], touchpoint["detail"]]
    )
    return "csv:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def row_clean(number: int, raw: dict[str, str] | None, *, now: datetime) -> CleanRow:
    row = CleanRow(number=number)
    if raw is None:
        row.errors.append(RowError(number, "row", "This row has more cells than the header has columns."))
        return row

    def bad(name: str, reason: str) -> None:
        row.errors.append(RowError(number, name, reason))

    values = {name: _unescape(value).strip() for name, value in raw.items()}
    for name, value in values.items():
        if "\x00" in value:
            bad(name, "Contains a NUL character.")
            values[name] = ""
        elif name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
            bad(name, f"At most {MAX_LENGTHS[name]} characters (this has {len(value)}).")

    email = values.get("email", "")
    if not email:
        bad("email", "An e-mail address is required.")
    else:
        try:
            validate_email(email)
        except ValidationError:
            bad("email", f"{email!r} is not a valid e-mail address.")
        else:
            row.email_key = email.lower()
    lead = {"email": email}
    for name in (*LEAD_TEXT_FIELDS, "interest"):
        if name in values:
            lead[name] = values[name]
    if values.get("employees"):
        try:
            lead["employees"] = parse_employees(values["employees"])
        except ValueError:
            bad("employees", f"{values['employees']!r} is not a head count or a range such as 50-249.")
    if values.get("source"):
        source = _choice(values["source"], SOURCES)
        if source is None:
            bad("source", f"Unknown source {values['source']!r}; use one of {', '.join(LeadSource.values)}.")
        lead["source"] = source
    row.lead = lead

    if any(values.get(name) for name in TOUCHPOINT_FIELDS):
        kind = _choice(values.get("touchpoint_kind", ""), TOUCHPOINT_KINDS)
        if not values.get("touchpoint_kind"):
            bad("touchpoint_kind", "Say which kind of touchpoint the other touchpoint columns describe.")
        elif kind is None:
            bad(
                "touchpoint_kind",
                f"Unknown kind {values['touchpoint_kind']!r}; use one of {', '.join(TouchpointKind.values)}.",
            )
        at = None
        if values.get("touchpoint_at"):
            try:
                at = parse_when(values["touchpoint_at"])
                if at > now + FUTURE_SKEW:
                    bad("touchpoint_at", "A touchpoint cannot be in the future.")
            except ValueError:
                bad("touchpoint_at", f"{values['touchpoint_at']!r} is not a date: use YYYY-MM-DD HH:MM or DD/MM/YYYY.")
        points = None
        if values.get("touchpoint_points"):
            try:
                points = int(values["touchpoint_points"])
                if not 0 <= points <= MAX_POINTS:
                    raise ValueError
            except ValueError:
                bad("touchpoint_points", f"Points must be a whole number from 0 to {MAX_POINTS}.")
        row.touchpoint = {
            "kind": kind,
            "at": at,
            "points": points,
            "campaign": values.get("touchpoint_campaign", ""),
            "detail": values.get("touchpoint_detail", ""),
        }
    return row


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _existing_leads(email_keys: Iterable[str], *, lock: bool = False) -> dict[str, Lead]:
    queryset = Lead.objects.annotate(email_key=Lower("email")).filter(email_key__in=list(email_keys))
    if lock:
        queryset = queryset.select_for_update()
    return {lead.email_key: lead for lead in queryset}


# --- pass 1: the check (the dry run) ----------------------------------------------------------------------

OpenFile = Callable[[], BinaryIO]
Progress = Callable[[str, int, int], None]  # phase, rows processed, percent


@dataclass
class ImportStats:
    rows: int = 0
    error_count: int = 0
    rows_for_existing: int = 0
    created: int = 0
    updated: int = 0
    touchpoints: int = 0
    duplicate_touchpoints: int = 0
    qualified: int = 0
    written: bool = False
    errors: list[RowError] = field(default_factory=list)


def check_rows(
    open_file: OpenFile,
    *,
    mapping: dict[str, str],
    encoding: str,
    delimiter: str,
    stats: ImportStats | None = None,
    size: int = 0,
    on_progress: Progress | None = None,
) -> Iterator[RowError]:
    """Yield every problem, row by row. Nothing is written. A file that cannot be read on yields one last error."""
    stats = stats if stats is not None else ImportStats()
    now = timezone.now()
    with open_file() as raw:
        try:
            for batch in _batched(_rows(raw, mapping=mapping, encoding=encoding, delimiter=delimiter), BATCH_ROWS):
                cleaned = [row_clean(number, values, now=now) for number, values, _ in batch]
                known = set(_existing_leads({r.email_key for r in cleaned if r.email_key}))
                for row in cleaned:
                    stats.rows += 1
                    if row.email_key in known:
                        stats.rows_for_existing += not row.errors
                    elif row.email_key and not row.lead.get("first_name"):
                        row.errors.insert(0, RowError(row.number, "first_name", NEW_LEAD_NEEDS_NAME))
                    yield from row.errors
                if on_progress:
                    consumed = batch[-1][2]
                    on_progress(ImportJob.Phase.VALIDATING, stats.rows, min(99, consumed * 100 // size) if size else 0)
        except FileProblem as problem:
            yield RowError(problem.row, "file", problem.reason)


def import_check(
    open_file: OpenFile,
    *,
    mapping: dict[str, str],
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    size: int = 0,
    on_progress: Progress | None = None,
    on_error: Callable[[RowError], None] | None = None,
    keep_errors: int = ERRORS_KEPT,
) -> ImportStats:
    stats = ImportStats()
    for error in check_rows(
        open_file,
        mapping=mapping,
        encoding=encoding,
        delimiter=delimiter,
        stats=stats,
        size=size,
        on_progress=on_progress,
    ):
        stats.error_count += 1
        if len(stats.errors) < keep_errors:
            stats.errors.append(error)
        if on_error:
            on_error(error)
    return stats


# --- pass 2: the write ------------------------------------------------------------------------------------


class ImportAborted(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(f"row {e.row}, {e.field}: {e.reason}" for e in errors[:5]))
        self.errors = errors


@dataclass
class _Group:
    """The rows of one e-mail address within a batch: later non-blank values win, every touchpoint counts."""

    email: str
    first_row: int
    lead: dict = field(default_factory=dict)
    touchpoints: list[dict] = field(default_factory=list)

    def add(self, row: CleanRow) -> None:
        for name, value in row.lead.items():
            if value not in ("", None) or name not in self.lead:
                self.lead[name] = value
        if row.touchpoint is not None:
            self.touchpoints.append(row.touchpoint)


def _score_fields(lead: Lead, agreement, *, count: int, points: int) -> None:
    """Fit through the service's own rules (an unsaved copy costs no query); intent from the touchpoint totals."""
    fit = lead_score(lead=Lead(sector=lead.sector, region=lead.region, employees=lead.employees), agreement=agreement)
    lead.imp_fit = fit["imp_fit"]
    lead.fit_score = fit["fit_score"]
    lead.intent_score = points
    lead.score = fit["fit_score"] + points
    lead.touchpoint_count = count


SCORE_FIELDS = ["imp_fit", "fit_score", "intent_score", "score", "touchpoint_count"]


def _write_batch(rows: list[CleanRow], *, by: User | None, agreement, now: datetime, stats: ImportStats, ref: str):
    bad = [e for row in rows for e in row.errors]
    if bad:
        raise ImportAborted(bad)
    groups: dict[str, _Group] = {}
    for row in rows:
        groups.setdefault(row.email_key, _Group(email=row.lead["email"], first_row=row.number)).add(row)
    existing = _existing_leads(groups, lock=True)

    # Touchpoints first (not saved yet): keyed when dated, so a second import of the same file adds nothing.
    candidates: list[tuple[str, dict, datetime, str | None]] = []
    for key, group in groups.items():
        for tp in group.touchpoints:
            candidates.append((key, tp, tp["at"] or now, touchpoint_import_key(key, tp) if tp["at"] else None))
    keys = [c[3] for c in candidates if c[3]]
    seen = set(Touchpoint.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    new_points: dict[str, list[Touchpoint]] = {}
    for key, tp, at, idempotency_key in candidates:
        if idempotency_key and idempotency_key in seen:
            stats.duplicate_touchpoints += 1
            continue
        if idempotency_key:
            seen.add(idempotency_key)
        new_points.setdefault(key, []).append(
            Touchpoint(
                kind=tp["kind"],
                at=at,
                points=TOUCHPOINT_POINTS[tp["kind"]] if tp["points"] is None else tp["points"],
                campaign=tp["campaign"],
                detail=tp["detail"],
                idempotency_key=idempotency_key,
            )
        )

    # New leads: the rows lead_create would write, scored from their own touchpoints (they have no others).
    new_leads: dict[str, Lead] = {}
    for key, group in groups.items():
        if key in existing:
            continue
        data = {k: v for k, v in group.lead.items() if v is not None}
        if not data.get("first_name"):
            raise ImportAborted([RowError(group.first_row, "first_name", NEW_LEAD_NEEDS_NAME)])
        data["source"] = data.get("source") or LeadSource.IMPORT
        lead = Lead(state=LeadState.PROSPECT, state_changed_at=now, created_at=now, team=TeamKind.MARKETING, **data)
        own = new_points.get(key, [])
        _score_fields(lead, agreement, count=len(own), points=sum(tp.points for tp in own))
        new_leads[key] = lead
    Lead.objects.bulk_create(new_leads.values(), batch_size=500)
    LeadEvent.objects.bulk_create(
        [
            LeadEvent(
                lead=lead,
                kind=LeadEventKind.CREATED,
                actor=by,
                at=now,
                to_state=LeadState.PROSPECT,
                data={"source": lead.source, "campaign": lead.campaign, "import": ref},
            )
            for lead in new_leads.values()
        ],
        batch_size=500,
    )

    # Existing leads: fill in and correct as an intake would, and re-score the ones that changed or gained points.
    touched_ids = [lead.pk for key, lead in existing.items() if key in new_points]
    totals = {
        row["lead_id"]: (row["n"], row["points"] or 0)
        for row in Touchpoint.objects.filter(lead_id__in=touched_ids)
        .values("lead_id")
        .annotate(n=Count("pk"), points=Sum("points"))
    }
    rescored = []
    for key, lead in existing.items():
        changes = lead_changes(lead, groups[key].lead)
        for name, value in changes.items():
            setattr(lead, name, value)
        if changes or key in new_points:
            count, points = totals.get(lead.pk, (0, 0))
            own = new_points.get(key, [])
            _score_fields(lead, agreement, count=count + len(own), points=points + sum(tp.points for tp in own))
            lead.updated_at = now
            rescored.append(lead)
        stats.updated += bool(changes)
    if rescored:
        Lead.objects.bulk_update(rescored, [*UPDATABLE_FIELDS, *SCORE_FIELDS, "updated_at"], batch_size=100)
    stats.created += len(new_leads)

    touchpoints = []
    leads_by_key = existing | new_leads
    for key, own in new_points.items():
        for tp in own:
            tp.lead = leads_by_key[key]
            touchpoints.append(tp)
    Touchpoint.objects.bulk_create(touchpoints, batch_size=500)
    LeadEvent.objects.bulk_create(
        [
            LeadEvent(
                lead=tp.lead,
                kind=LeadEventKind.TOUCHPOINT,
                actor=by,
                at=tp.at,
                data={"kind": tp.kind, "points": tp.points, "campaign": tp.campaign, "import": ref},
                agreement=tp.lead.agreement,
            )
            for tp in touchpoints
        ],
        batch_size=500,
    )
    stats.touchpoints += len(touchpoints)

    # Qualification is a transition: made by the lifecycle's own functions, as lead_qualify makes it.
    for lead in [*new_leads.values(), *rescored]:
        if lead.state in QUALIFIABLE_STATES and not lead_meets_mql(lead=lead, agreement=agreement):
            _qualify(lead, by=by, agreement=agreement, at=now)
            stats.qualified += 1


def _qualify(lead: Lead, *, by: User | None, agreement, at: datetime) -> None:
    """The MQL transition of leads.services._rescore_and_maybe_qualify for a lead already scored and locked in
    this transaction: it keeps the agreement it qualified under, the event is written by lead_transition (which
    enforces the lifecycle) and Marketing's hand-off clock starts."""
    lead.agreement = agreement
    lead.save(update_fields=["agreement"])
    lead_transition(
        lead=lead,
        to=LeadState.MQL,
        kind=LeadEventKind.MQL_QUALIFIED,
        by=by,
        at=at,
        data={"score": lead.score, "touchpoints": lead.touchpoint_count, "agreement": agreement.version},
    )
    clock_start(subject=lead, commitment=Commitment.MQL_HANDOFF, agreement=agreement, at=at, owner=lead.owner)


def import_write(
    open_file: OpenFile,
    *,
    mapping: dict[str, str],
    by: User | None,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    stats: ImportStats | None = None,
    total_rows: int = 0,
    on_progress: Progress | None = None,
    ref: str = "",
) -> ImportStats:
    """Write every row in one transaction. Call after a clean check; any problem found now aborts everything."""
    stats = stats if stats is not None else ImportStats()
    agreement = agreement_active()
    now = timezone.now()
    processed = 0
    with transaction.atomic(), open_file() as raw:
        try:
            for batch in _batched(_rows(raw, mapping=mapping, encoding=encoding, delimiter=delimiter), BATCH_ROWS):
                rows = [row_clean(number, values, now=now) for number, values, _ in batch]
                _write_batch(rows, by=by, agreement=agreement, now=now, stats=stats, ref=ref)
                processed += len(rows)
                if on_progress:
                    pct = min(99, processed * 100 // total_rows) if total_rows else 0
                    on_progress(ImportJob.Phase.WRITING, processed, pct)
        except FileProblem as problem:
            raise ImportAborted([RowError(problem.row, "file", problem.reason)]) from problem
        except IntegrityError as exc:
            raise ImportAborted(
                [RowError(0, "file", "A lead with one of these e-mail addresses was created meanwhile; run it again.")]
            ) from exc
    stats.written = True
    return stats


def import_csv(
    open_file: OpenFile,
    *,
    mapping: dict[str, str],
    by: User | None,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    dry_run: bool = False,
    size: int = 0,
    on_progress: Progress | None = None,
    on_error: Callable[[RowError], None] | None = None,
    ref: str = "",
) -> ImportStats:
    """Check every row; write them all (one transaction) only if none is bad and this is not a dry run."""
    stats = import_check(
        open_file,
        mapping=mapping,
        encoding=encoding,
        delimiter=delimiter,
        size=size,
        on_progress=on_progress,
        on_error=on_error,
    )
    if stats.error_count or dry_run or not stats.rows:
        return stats
    try:
        return import_write(
            open_file,
            mapping=mapping,
            by=by,
            encoding=encoding,
            delimiter=delimiter,
            stats=stats,
            total_rows=stats.rows,
            on_progress=on_progress,
            ref=ref,
        )
    except ImportAborted as aborted:
        # Written nothing (the transaction rolled back): report like a failed check.
        stats.created = stats.updated = stats.touchpoints = stats.duplicate_touchpoints = stats.qualified = 0
        stats.error_count += len(aborted.errors)
        stats.errors.extend(aborted.errors[: max(0, ERRORS_KEPT - len(stats.errors))])
        for error in aborted.errors:
            if on_error:
                on_error(error)
        return stats


# --- the browser's import jobs ----------------------------------------------------------------------------


class JobProgress:
    """Writes progress onto the ImportJob row so the page can poll it.

    Outside a transaction that is a plain update. Inside the import's transaction, PostgreSQL gets the update
    through a second connection (committed at once, so the page sees it while the import runs); SQLite allows
    one writer at a time, so there the page shows the write phase without a row count until it commits."""

    def __init__(self, job: ImportJob, *, every_rows: int = BATCH_ROWS):
        self.job = job
        self.every_rows = every_rows
        self._last = -every_rows
        self._side = None

    def __call__(self, phase: str, processed: int, pct: int) -> None:
        if processed - self._last < self.every_rows and pct < 99:
            return
        self._last = processed
        fields = {"phase": phase, "processed_rows": processed, "progress_pct": pct, "updated_at": timezone.now()}
        if phase != ImportJob.Phase.WRITING:  # the check runs outside any transaction of ours
            ImportJob.objects.filter(pk=self.job.pk).update(**fields)
        elif connection.vendor != "sqlite":
            self._side_update(fields)

    def _side_update(self, fields: dict) -> None:
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        qn = self._side.ops.quote_name
        columns = ", ".join(f"{qn(ImportJob._meta.get_field(name).column)} = %s" for name in fields)
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {qn(ImportJob._meta.db_table)} SET {columns} WHERE {qn('id')} = %s",  # noqa: S608
                [*fields.values(), self.job.pk],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def _job_open(job: ImportJob) -> OpenFile:
    return lambda: job.file.storage.open(job.file.name, "rb")


def _job_record(job: ImportJob, stats: ImportStats, **extra) -> None:
    job.row_count = stats.rows
    job.processed_rows = stats.rows
    job.error_count = stats.error_count
    job.errors = [e.as_list() for e in stats.errors]
    job.rows_for_existing = stats.rows_for_existing
    job.created_count = stats.created
    job.updated_count = stats.updated
    job.touchpoint_count = stats.touchpoints
    job.duplicate_touchpoints = stats.duplicate_touchpoints
    job.qualified_count = stats.qualified
    job.finished_at = timezone.now()
    for name, value in extra.items():
        setattr(job, name, value)
    job.save()


def _job_fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED, phase="", finished_at=timezone.now(), message=message[:500]
    )


def import_job_check(job_id: int) -> ImportJob | None:
    """The dry run for a job in CHECKING; safe to run twice (a second run finds it no longer CHECKING)."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.CHECKING).first()
    if job is None:
        return None
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now(), phase=ImportJob.Phase.VALIDATING)
    try:
        stats = import_check(
            _job_open(job),
            mapping=job.mapping,
            encoding=job.encoding,
            delimiter=job.delimiter,
            size=job.size_bytes,
            on_progress=JobProgress(job),
        )
    except Exception as exc:
        _job_fail(job, f"The check stopped: {exc}")
        raise
    verdict = "No problems found." if not stats.error_count else f"{stats.error_count} problem(s) to fix."
    _job_record(job, stats, status=ImportJob.Status.CHECKED, phase="", progress_pct=100, message=verdict)
    return job


def import_job_run(job_id: int) -> ImportJob | None:
    """The import for a QUEUED job: claimed once (a duplicate delivery finds it taken), checked, then written."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.IMPORTING,
        started_at=timezone.now(),
        phase=ImportJob.Phase.VALIDATING,
        progress_pct=0,
        processed_rows=0,
    )
    if not claimed:
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    progress = JobProgress(job)
    try:
        stats = import_csv(
            _job_open(job),
            mapping=job.mapping,
            by=job.created_by,
            encoding=job.encoding,
            delimiter=job.delimiter,
            size=job.size_bytes,
            on_progress=progress,
            ref=f"job:{job.pk}",
        )
    except DomainError as exc:  # e.g. no active agreement: a refusal to show, not a bug
        _job_fail(job, f"Nothing was imported: {exc.message}")
        return job
    except Exception as exc:
        _job_fail(job, f"The import stopped and wrote nothing: {exc}")
        raise
    finally:
        progress.close()
    if stats.written:
        _job_record(
            job,
            stats,
            status=ImportJob.Status.DONE,
            phase="",
            progress_pct=100,
            message=f"Imported {stats.rows} rows: {stats.created} new leads, {stats.updated} updated, "
            f"{stats.touchpoints} touchpoints, {stats.qualified} qualified as MQL.",
        )
        job.file.delete(save=True)  # the data now lives in the leads; do not keep personal data lying around
    else:
        reason = f"{stats.error_count} problem(s) found; nothing was imported." if stats.rows else "No rows to import."
        _job_record(job, stats, status=ImportJob.Status.FAILED, phase="", progress_pct=100, message=reason)
    return job


# --- export -----------------------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, default=str)
    value = str(value)
    # A spreadsheet would run a cell starting with = + - @ as a formula; phone numbers and signed numbers stay.
    if value.startswith(_FORMULA_START) and not _SAFE_SIGNED.fullmatch(value):
        return "'" + value
    return value


def csv_export_stream(header: list[str], rows: Iterable, *, chunk_bytes: int = 64 * 1024) -> Iterator[str]:
    """Header, then one line per row, yielded in ~64 KB chunks: nothing but the current chunk is in memory."""
    writer = csv.writer(_Echo())
    buffer = [writer.writerow(header)]
    size = len(buffer[0])
    for row in rows:
        line = writer.writerow([export_cell(v) for v in row])
        buffer.append(line)
        size += len(line)
        if size >= chunk_bytes:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def errors_csv_stream(job: ImportJob) -> Iterator[str]:
    """Every problem of a checked job, re-checked from the file as it streams out."""
    rows = (
        e.as_list()
        for e in check_rows(_job_open(job), mapping=job.mapping, encoding=job.encoding, delimiter=job.delimiter)
    )
    return csv_export_stream(["row", "field", "reason"], rows)
