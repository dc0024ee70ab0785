"""Errors services raise. Views and the API turn them into clear messages (400/403/409), never a 500."""

from collections.abc import Mapping


class DomainError(Exception):
    """A rule of the agreement or the lifecycle refused the action; nothing was changed."""

    status_code = 409

    def __init__(self, message: str, *, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


class InvalidTransition(DomainError):
    def __init__(self, obj: object, *, from_state: str, to_state: str, why: str = ""):
        label = f"{type(obj).__name__.lower()} #{getattr(obj, 'pk', '?')}"
        message = f"Cannot move {label} from '{from_state!s}' to '{to_state!s}'"
        super().__init__(f"{message}: {why}" if why else f"{message}.", code="invalid_transition")
        self.from_state = from_state
        self.to_state = to_state


class InvalidInput(DomainError):
    """Bad input: field → message, for forms and API error bodies."""

    status_code = 400

    def __init__(self, errors: Mapping[str, str] | str):
        self.errors = {"__all__": errors} if isinstance(errors, str) else dict(errors)
        super().__init__(
            "; ".join(f"{k}: {v}" if k != "__all__" else v for k, v in self.errors.items()), code="invalid"
        )


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, message: str = "You are not allowed to do this."):
        super().__init__(message, code="forbidden")
