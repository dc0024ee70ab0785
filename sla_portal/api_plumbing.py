"""The API classes DRF's settings name (authentication, throttles, parser, pagination).

Kept apart from api_base on purpose: DRF imports these while `rest_framework.views` is still loading, so this module
must not import `rest_framework.views`, drf-spectacular, or anything that does (an import cycle otherwise)."""

import hashlib
import io

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


# --- limits and rates -------------------------------------------------------------------------------

DEFAULT_RATES = {"api": "1200/min", "intake": "300/min"}
MAX_BODY_BYTES = 256 * 1024


def max_body_bytes(view) -> int:
    return int(getattr(view, "max_body_bytes", None) or getattr(settings, "API_MAX_BODY_BYTES", MAX_BODY_BYTES))


class TokenRateThrottle(SimpleRateThrottle):
    """Counts per API token (per user for session requests), so one noisy integration cannot starve the rest."""

    scope = "api"
    cache = cache

    def get_rate(self) -> str:
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        return rates.get(self.scope) or DEFAULT_RATES[self.scope]

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, Token):
            # The key is a credential: only a digest of it goes into the cache.
            ident = "token:" + hashlib.sha256(request.auth.key.encode()).hexdigest()[:32]
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PortalTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`; the user's team comes in the same query (every permission check needs it)."""

    def authenticate_credentials(self, key):
        try:
            token = Token.objects.select_related("user__team").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token


class IntakeRateThrottle(TokenRateThrottle):
    scope = "intake"


# --- parsing ------------------------------------------------------------------------------------------


class LimitedJSONParser(JSONParser):
    """JSON with a size cap (413) and no recursion blow-up (400), read without trusting Content-Length."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = max_body_bytes(parser_context.get("view"))
        request = parser_context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


class CsvRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; exports answer with a StreamingHttpResponse."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise TypeError("exports stream their own CSV; PortalApiMixin.finalize_response renders anything else as JSON")


# --- pagination ---------------------------------------------------------------------------------------


class PortalPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PortalCursorPagination(CursorPagination):
    """Large, growing lists: stable pages however many rows arrive meanwhile, and no COUNT(*)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"
