"""What every API view shares: authentication, throttling, parsing limits, pagination, errors and schema.

The same policy is also asked for in settings (see the report for issue 6); it is applied here, on the views,
so the API behaves the same whether or not those settings are present. Rates read
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` first and fall back to DEFAULT_RATES.
"""

from datetime import UTC, date, datetime, timedelta

from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from sla_portal.api_errors import api_exception_handler
from sla_portal.api_plumbing import (
    CsvRenderer,
    LimitedJSONParser,
    PortalPagination,
    PortalTokenAuthentication,
    TokenRateThrottle,
)
from sla_portal.errors import Forbidden

# --- errors and the schema ----------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 only: field name → messages. Nested fields are dotted (`touchpoint.kind`).",
    )
    from_state = serializers.CharField(required=False, help_text="409 for an illegal transition only.")
    to_state = serializers.CharField(required=False, help_text="409 for an illegal transition only.")


ERROR_DESCRIPTIONS = {
    "400": "Invalid input: per-field errors in `errors`.",
    "401": "No or invalid credentials.",
    "403": "Authenticated, but this user may not see or do this.",
    "404": "Not found, or not visible to this user (also: an invalid page or cursor).",
    "409": "Refused by the lifecycle or the agreement; nothing was changed.",
    "413": "Request body too large.",
    "415": "Unsupported media type: send application/json.",
    "429": "Rate limit reached for this token; see Retry-After.",
}


class PortalAutoSchema(AutoSchema):
    """Documents the error answers each operation can really give, all in the one ErrorSerializer shape."""

    def error_codes(self) -> set[str]:
        view = self.view
        action_name = getattr(view, "action", None)
        codes = {"401", "403", "429"}
        if "{" in self.path or (getattr(view, "pagination_class", None) and self._is_list_view()):
            codes.add("404")
        is_write = self.method in {"POST", "PUT", "PATCH"}
        if is_write and self.get_request_serializer() is not None:
            codes |= {"400", "413", "415"}
        if is_write and (getattr(view, "is_transition", False) or action_name in getattr(view, "conflict_actions", ())):
            codes.add("409")
        if self.method == "GET" and (self._is_list_view() or action_name == "export"):
            codes.add("400")  # filter values that do not validate
        if action_name == "export":
            codes.add("404")  # an unknown ?format=
        codes |= set(getattr(view, "extra_error_codes", {}).get(action_name or self.method, ()))
        return codes

    def get_serializer_name(self, serializer, direction) -> str:
        """Nested `HandoffAcceptApi.InputSerializer` → component `HandoffAcceptInput` (names stay unique)."""
        qualname = type(serializer).__qualname__
        if "." in qualname:
            outer, inner = qualname.rsplit(".", 2)[-2:]
            return outer.removesuffix("Api") + inner.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def _resolve_path_parameters(self, variables):
        """Ids in paths are integers (routes accept any segment so that a bad id is a JSON 404, not an HTML one)."""
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] in {"id", "version"}:
                parameter["schema"] = {"type": "integer"}
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self.error_codes()):
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, ["application/json"], direction)
                response["description"] = ERROR_DESCRIPTIONS.get(code, response.get("description", ""))
                responses[code] = response
        return responses


# --- the base view ------------------------------------------------------------------------------------


class PortalApiMixin:
    """Token first, so an unauthenticated client gets 401 with `WWW-Authenticate: Token`; the browser's
    session (with CSRF) works as well."""

    authentication_classes = [PortalTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [TokenRateThrottle]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    pagination_class = PortalPagination
    schema = PortalAutoSchema()

    lookup_value_regex = "[^/]+"

    def get_exception_handler(self):
        return api_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        """Only an export's stream is CSV: errors and OPTIONS answers are JSON even if text/csv was asked for."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(getattr(response, "accepted_renderer", None), CsvRenderer):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    def get_object(self):
        """Detail routes look up in the visible queryset only; list filters never apply to them."""
        lookup = self.lookup_url_kwarg or self.lookup_field
        obj = get_object_or_404(self.get_queryset(), **{self.lookup_field: self.kwargs[lookup]})
        self.check_object_permissions(self.request, obj)
        return obj

    @staticmethod
    def require(allowed: bool, message: str = "You are not allowed to do this.") -> None:
        if not allowed:
            raise Forbidden(message)


class TransitionApi(PortalApiMixin, APIView):
    """One state transition: POST, permission from sla_portal.policy, then the service. Subclasses give
    `visible(user)` (what the user may see: anything else is a 404) and `post`."""

    is_transition = True

    def visible(self, user):
        raise NotImplementedError

    def subject(self, request, id):
        return get_object_or_404(self.visible(request.user), pk=id)

    def input(self, request):
        serializer = self.InputSerializer(data=request.data, context={"request": request, "view": self})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def answer(self, instance, *, status_code: int = 200, context: dict | None = None):
        data = self.OutputSerializer(instance, context={"request": self.request, **(context or {})}).data
        return Response(data, status=status_code)


class UserRefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    team = serializers.CharField(source="team.kind", default=None, allow_null=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "team", "role"]

    def get_name(self, user: User) -> str:
        return user.get_full_name() or user.username


EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


class EventTimeField(serializers.DateTimeField):
    """When something happened: not in the future and not before 2000 (that is a typo, not a fact; it would
    also start SLA clocks decades ago)."""

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if value < EARLIEST_EVENT:
            raise serializers.ValidationError("Must be on or after 2000-01-01.")
        if value > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError("Cannot be in the future.")
        return value


class TermDateField(serializers.DateField):
    """A contract date: 2000-01-01 to 2199-12-31."""

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if not date(2000, 1, 1) <= value <= date(2199, 12, 31):
            raise serializers.ValidationError("Must be between 2000-01-01 and 2199-12-31.")
        return value


class UserField(serializers.PrimaryKeyRelatedField):
    """A user by id; out-of-range ids are refused as input errors instead of reaching the database."""

    default_error_messages = {"does_not_exist": "No active user with id {pk_value}."}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", User.objects.filter(is_active=True).select_related("team"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str) or not str(data).isdigit():
            self.fail("incorrect_type", data_type=type(data).__name__)
        if int(data) > 2**62:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(data))


# --- CSV export of any filtered list ------------------------------------------------------------------


class CsvExportMixin:
    """`GET <list>/export/` streams the same filtered list as CSV, every row, in constant memory.

    Subclasses set `export_columns`: (header, values_list path) pairs; rows come from one query read in chunks."""

    export_columns: list[tuple[str, str]] = []
    export_filename = "export"

    @extend_schema(
        summary="Export the filtered list as CSV",
        description="Takes the list's filters and ordering; streams every matching row (no pagination).",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, UTF-8, header row first")},
    )
    @action(detail=False, methods=["get"], url_path="export", renderer_classes=[JSONRenderer, CsvRenderer])
    def export(self, request, *args, **kwargs):
        from leads.csv_io import csv_export_stream

        queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        headers = [header for header, _ in self.export_columns]
        rows = queryset.values_list(*[path for _, path in self.export_columns]).iterator(chunk_size=2000)
        response = StreamingHttpResponse(csv_export_stream(headers, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.export_filename}.csv"'
        return response
