"""Lead intake: web forms, marketing tools and CSV files feed prospects in through one set of rules.

A submission creates the prospect or updates the one that already has the e-mail (matched case-insensitively),
records the touchpoint, re-scores, and qualifies to MQL when the agreement's thresholds hold; all of that through
the services in leads.services, in one transaction.

Updates only fill in and correct: a blank value never wipes stored data, the e-mail keeps its stored spelling,
and `source`/`campaign` keep the first touch (the touchpoint records the campaign of this one).
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from accounts.models import User
from sla_portal.errors import DomainError, InvalidInput

from .models import IdempotencyRecord, Lead, LeadState, OrgSize, Touchpoint
from .services import lead_create, lead_update, touchpoint_record

# Fields an intake may fill on an existing lead; e-mail identifies it, source and campaign are first-touch.
UPDATABLE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "organisation",
    "sector",
    "region",
    "employees",
    "interest",
)
IDEMPOTENCY_KEY_MAX = 100
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,100}$")  # visible ASCII, as HTTP header values allow


class IdempotencyKeyReused(DomainError):
    status_code = 422  # as the IETF Idempotency-Key draft answers a key reused with a different body

    def __init__(self):
        super().__init__(
            "This Idempotency-Key was already used for a different request; use a new key for a new submission.",
            code="idempotency_key_reused",
        )


def employees_bucket(count: int) -> int:
    """A head count (or an OrgSize value) → the OrgSize bucket the scoring understands."""
    if count <= 0:
        return OrgSize.UNKNOWN
    if count < 10:
        return OrgSize.MICRO
    if count < 50:
        return OrgSize.SMALL
    if count < 250:
        return OrgSize.MEDIUM
    return OrgSize.LARGE


def lead_changes(lead: Lead, data: dict) -> dict:
    """The fields of `data` that would change `lead`, blanks ignored so partial data never erases."""
    changes = {}
    for field in UPDATABLE_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None) or (field == "employees" and not value):
            continue
        if getattr(lead, field) != value:
            changes[field] = value
    return changes


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    touchpoint: Touchpoint
    created: bool
    qualified: bool


def lead_find(email: str) -> Lead | None:
    return Lead.objects.filter(email__iexact=email.strip()).order_by("pk").first()


@transaction.atomic
def lead_intake(
    *,
    by: User | None,
    lead: dict,
    touchpoint: dict,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> IntakeResult:
    """Create or update the prospect with `lead` data, then record `touchpoint` (kind, at, points, campaign,
    detail). With `idempotency_key`, a retry never records a second touchpoint."""
    email = (lead.get("email") or "").strip()
    if not email:
        raise InvalidInput({"email": "This field is required."})
    existing = lead_find(email)
    created = False
    if existing is None:
        fields = {k: v for k, v in lead.items() if v is not None}
        fields["email"] = email
        try:
            with transaction.atomic():
                existing = lead_create(by=by, at=at, **fields)
            created = True
        except InvalidInput as exc:
            # A concurrent intake created the same e-mail between our lookup and our insert: update that one.
            existing = lead_find(email) if "email" in exc.errors else None
            if existing is None:
                raise
    if not created:
        changes = lead_changes(existing, lead)
        if changes:
            existing = lead_update(lead=existing, by=by, **changes)
    state_before = None if created else existing.state
    recorded = touchpoint_record(
        lead=existing,
        by=by,
        kind=touchpoint["kind"],
        at=touchpoint.get("at") or at,
        points=touchpoint.get("points"),
        campaign=touchpoint.get("campaign") or "",
        detail=touchpoint.get("detail") or "",
        idempotency_key=idempotency_key,
    )
    if recorded.lead_id != existing.pk:
        raise IdempotencyKeyReused()
    existing.refresh_from_db()
    qualified = existing.state == LeadState.MQL and state_before != LeadState.MQL
    return IntakeResult(lead=existing, touchpoint=recorded, created=created, qualified=qualified)


# --- Idempotency-Key: the same answer for the same request ----------------------------------------------


def idempotency_key_clean(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY_RE.match(key):
        raise InvalidInput(
            {"Idempotency-Key": f"Use 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters (a UUID is a good key)."}
        )
    return key


def request_fingerprint(*parts) -> str:
    canonical = json.dumps(parts, sort_keys=True, cls=DjangoJSONEncoder, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def touchpoint_key(*, user: User, scope: str, key: str) -> str:
    """The touchpoint's own dedupe key: namespaced so two users' keys cannot collide (fits the 120-char field)."""
    return f"{scope}:{user.pk}:{key}"


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict
    replayed: bool = False


@transaction.atomic
def idempotent_call(*, user: User, scope: str, key: str, fingerprint: str, run: Callable[[], Answer]) -> Answer:
    """Run `run` once per (user, scope, key) and store its answer; a retry gets the stored answer back.

    The key row is inserted first, in the same transaction as the work: a concurrent retry waits on it and then
    replays the committed answer, and if the work fails nothing is stored, so the retry runs it afresh."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(user=user, scope=scope, key=key, fingerprint=fingerprint)
    except IntegrityError:
        record = IdempotencyRecord.objects.get(user=user, scope=scope, key=key)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused() from None
        return Answer(status_code=record.status_code, body=record.response, replayed=True)
    answer = run()
    body = json.loads(json.dumps(answer.body, cls=DjangoJSONEncoder))
    record.status_code, record.response = answer.status_code, body
    record.save(update_fields=["status_code", "response"])
    return Answer(status_code=answer.status_code, body=body)


def idempotency_records_purge(*, older_than) -> int:
    """Keys are promised for a retry window, not forever; the daily task drops older ones."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()
    return deleted
