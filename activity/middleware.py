"""Captures the request's IP, user agent and request id for the activity entries it records."""

from activity.context import ActivityContext, acting
from p360.api.client import client_ip


class ActivityContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = ActivityContext(
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            request_id=getattr(request, "request_id", ""),
        )
        with acting(context):
            return self.get_response(request)
