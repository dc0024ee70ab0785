"""One error shape for the whole API, and the translation of service errors into HTTP status codes.

Every error body is `{"detail": str, "code": str}`; a 400 adds `"errors": {field: [message, ...]}` (nested
fields flattened to dotted names such as `touchpoint.kind`, whole-body problems under `non_field_errors`); a 409
for an illegal transition adds `from_state` and `to_state`. Services raise `sla_portal.errors` exceptions and
never know about HTTP; this module is the only place that maps them:

    InvalidInput      -> 400 with its `.errors` as per-field errors
    Forbidden         -> 403
    InvalidTransition -> 409 (from_state / to_state included)
    DomainError       -> its status_code: 409 (422 for an Idempotency-Key reused with another body)
"""

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from sla_portal.api_plumbing import PayloadTooLarge
from sla_portal.errors import DomainError, Forbidden, InvalidInput, InvalidTransition

NON_FIELD = "non_field_errors"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structures → {"field": [...], "touchpoint.kind": [...], "items.0.name": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = NON_FIELD if key in {"__all__", NON_FIELD} and not prefix else str(key)
            for field, messages in flatten_errors(value, f"{prefix}{name}.").items():
                flat.setdefault(field, []).extend(messages)
        return flat
    if isinstance(detail, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in detail):
            flat[prefix.rstrip(".") or NON_FIELD] = [str(item) for item in detail]
            return flat
        for index, item in enumerate(detail):
            if not item:
                continue
            for field, messages in flatten_errors(item, f"{prefix}{index}.").items():
                flat.setdefault(field, []).extend(messages)
        return flat
    flat[prefix.rstrip(".") or NON_FIELD] = [str(detail)]
    return flat


def translate(exc: Exception) -> Exception:
    """Service and Django exceptions → the DRF exception carrying the right status code."""
    if isinstance(exc, InvalidInput):
        return exceptions.ValidationError({(NON_FIELD if k == "__all__" else k): [v] for k, v in exc.errors.items()})
    if isinstance(exc, Forbidden):
        return exceptions.PermissionDenied(exc.message)
    if isinstance(exc, DomainError):
        conflict = Conflict(exc.message, code=exc.code)
        conflict.status_code = exc.status_code  # 409, or what a subclass declares (422 for a reused key)
        if isinstance(exc, InvalidTransition):
            conflict.states = {"from_state": exc.from_state, "to_state": exc.to_state}
        return conflict
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        return exceptions.ValidationError(detail)
    if isinstance(exc, ObjectDoesNotExist):
        return Http404()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def api_exception_handler(exc: Exception, context: dict):
    exc = translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django answer 500 and log it
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": flatten_errors(exc.detail)}
        return response
    if isinstance(exc, Http404):
        response.data = {"detail": "Not found.", "code": "not_found"}
        return response
    detail = getattr(exc, "detail", None)
    message = str(detail) if detail is not None else str(response.data.get("detail", ""))
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    response.data = {"detail": message, "code": code, **getattr(exc, "states", {})}
    return response
