"""GET /activity (page and cursor modes) and GET /activity/export (CSV or NDJSON, streamed): owners and admins."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from activity import selectors
from activity.api.filters import ActivityFilter
from activity.api.serializers import (
    EXPORT_HEADER,
    ActivityEntrySerializer,
    activity_list_rows,
    export_record,
)
from activity.exports import export_copy_sql
from p360.actors import request_actor
from p360.api.exports import in_batches, streaming_export
from p360.api.ordering import OrderingFilter
from p360.api.problems import FieldErrors
from p360.api.renderers import EXPORT_RENDERERS
from p360.api.rows import queryset_rows
from p360.api.views import StrictQueryParamsMixin
from users import policy as users_policy

EXPORT_FORMATS = ("csv", "ndjson")


class ActivityListMixin(StrictQueryParamsMixin):
    """Filters, ordering and pagination of an activity list; reused by /users/{id}/activity and the like."""

    serializer_class = ActivityEntrySerializer
    filterset_class = ActivityFilter
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = {"occurred_at": "occurred_at"}
    default_ordering = "-occurred_at"

    def row_source(self):
        """The filtered, ordered log as the list's pages and the exports read it; a page's entries come as rows."""
        return queryset_rows(
            self.filter_queryset(self.get_queryset()),
            self.request,
            self,
            rows_of=selectors.activity_rows,
            value_of=selectors.activity_row_value,
        )

    def list_page(self):
        """One page of the filtered list, read as rows and rendered without serializer instances."""
        rows = self.paginator.paginate(self.row_source(), self.request)
        return self.get_paginated_response(activity_list_rows(rows))


@extend_schema(tags=["activity"])
class ActivityViewSet(ActivityListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The tenant's activity log, newest first: every change, who made it, from where. Owners and admins."""

    access = dict.fromkeys(("list", "export"), users_policy.access("read_log"))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        users_policy.require(request_actor(request), "read_log")

    def get_queryset(self):
        return selectors.activity_list()

    def allowed_query_params(self):
        extra = {"format"} if self.action == "export" else set()
        return super().allowed_query_params() | extra

    @extend_schema(operation_id="activity_list")
    def list(self, request, *args, **kwargs):
        return self.list_page()

    @extend_schema(
        operation_id="activity_export",
        filters=True,
        parameters=[OpenApiParameter("format", str, enum=[*EXPORT_FORMATS], default="csv")],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/x-ndjson"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"], url_path="export", renderer_classes=EXPORT_RENDERERS, pagination_class=None)
    def export(self, request):
        fmt = request.query_params.get("format", "csv")
        if fmt not in EXPORT_FORMATS:
            raise FieldErrors([("format", "invalid_choice", f"format must be csv or ndjson, not {fmt!r}.")])
        source = self.row_source()  # the list's filters and order, as the list reads them
        if fmt == "csv":
            return streaming_export(fmt, "activity", EXPORT_HEADER, None, copy=export_copy_sql(source))
        records = (export_record(entry) for entry in in_batches(source.queryset, source.keys))
        return streaming_export(fmt, "activity", EXPORT_HEADER, records)
