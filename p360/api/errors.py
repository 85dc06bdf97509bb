"""Django-level error views: unknown API paths, 404s and 500s as problem+json (a database outage is a 503)."""

import sys

from django.views.decorators.csrf import csrf_exempt

from p360.api.problems import DATABASE_ERRORS, database_unavailable_response, problem_response


@csrf_exempt  # an unknown API path is a 404 whatever the method; there is no form to protect
def api_not_found(request, *args, **kwargs):
    return problem_response(request, 404, "not_found", "Not found", f"No endpoint at {request.path}.")


def handler404(request, exception=None):
    return api_not_found(request)


def handler500(request):
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable_response(request)
    return problem_response(request, 500, "server_error", "Internal server error", "An unexpected error occurred.")


def handler400(request, exception=None):
    return problem_response(request, 400, "bad_request", "Bad request", str(exception or "Bad request."))


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the admin's forms are the only CSRF-protected pages; say why as problem+json."""
    return problem_response(request, 403, "csrf_failed", "Forbidden", f"CSRF verification failed: {reason}")


def handler403(request, exception=None):
    return problem_response(request, 403, "permission_denied", "Forbidden", "You may not do this.")
