"""The Django admin's login, throttled like the API's and recorded in the activity log."""

from __future__ import annotations

from django.db import transaction

from p360.api.problems import problem_response
from users import services
from users.models import User
from users.throttles import LoginEmailThrottle, LoginIPThrottle


class _Attempt:
    """What the login throttles read of a request: the client address and the email tried."""

    def __init__(self, request):
        self.META = request.META
        self.headers = request.headers
        self.data = {"email": request.POST.get("username", "")}


def throttled_login(site):
    """The login view of `site`, throttled per IP and per email, each attempt recorded."""

    def login(request, extra_context=None):
        return _login(site, request, extra_context)

    return login


def _login(site, request, extra_context=None):
    if request.method == "POST":
        attempt = _Attempt(request)
        for throttle in (LoginIPThrottle(), LoginEmailThrottle()):
            if not throttle.allow_request(attempt, None):
                wait = int(throttle.wait() or 60) + 1
                detail = "Too many sign-in attempts; try again later."
                return problem_response(
                    request, 429, "throttled", "Too many requests", detail, headers={"Retry-After": str(wait)}
                )
    response = site.login(request, extra_context)
    if request.method == "POST":
        with transaction.atomic():
            if isinstance(request.user, User) and request.user.is_authenticated:
                services.user_record_login(user=request.user)
            else:
                services.user_record_failed_login(email=attempt.data["email"])
    return response
