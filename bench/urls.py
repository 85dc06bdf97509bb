"""The tenant URLconf plus the references: `/bench/nodb` and `/bench/naive-users`. Served under bench settings
only; production URLconfs never include this module."""

from django.urls import path

from bench.views import NaiveUserList, NoDatabaseView
from p360.urls_tenant import handler400, handler403, handler404, handler500  # noqa: F401
from p360.urls_tenant import urlpatterns as tenant_urlpatterns

urlpatterns = [
    path("bench/nodb", NoDatabaseView.as_view()),
    path("bench/naive-users", NaiveUserList.as_view()),
    *tenant_urlpatterns,
]
