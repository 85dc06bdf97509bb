"""Test fixtures shared by every app: two tenants from the first day, API clients per host, real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.cache import caches
from django.db import connection
from rest_framework.test import APIClient

from p360.actors import SYSTEM

PASSWORD = "p360-test-Password-1"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item (browser tests screenshot failures from it)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


ROOT = Path(__file__).resolve().parent


def pytest_configure(config):
    from django.conf import settings

    # This process's own changes roll back unseen: its routing trusts the cache's signals and TIMEOUT. The
    # servers it starts (gunicorn) listen as in production (tenants/routing.py).
    settings.P360_ROUTING_LISTEN = False


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database with two tenants, `alpha` and `beta`, each with an owner (committed once)."""
    from tenants.services import tenant_create

    with django_db_blocker.unblock():
        # pytest-django only makes a test database when some collected test asks for one: refuse to
        # seed anything else (a run of only non-db tests would otherwise write to the real database).
        assert connection.settings_dict["NAME"].startswith("test_"), "no test database was set up"
        # alpha and beta for in-process tests; e2e-a and e2e-b for servers, whose writes really commit
        for slug in ("alpha", "beta", "e2e-a", "e2e-b", "e2e-fuzz"):
            tenant, _owner = tenant_create(
                actor=SYSTEM, slug=slug, name=slug.title(), owner_email=f"owner@{slug}.test", owner_password=PASSWORD
            )
            _empty_activity_log(tenant.schema_name)  # tests read the log from a clean start
        connection.set_schema_to_public()


def _empty_activity_log(schema: str) -> None:
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL p360.activity_prune = 'on'")
        cursor.execute(f'DELETE FROM "{schema}".activity_activityentry')


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Routing entries and throttle counters must not leak between tests (their rows roll back)."""
    for alias in ("default", "routing"):
        caches[alias].clear()
    yield
    for alias in ("default", "routing"):
        caches[alias].clear()
    connection.set_schema_to_public()


def cache_keys(alias: str = "default") -> list[str]:
    """Every key in a cache, for local memory and Redis alike."""
    backend = caches[alias]
    if hasattr(backend, "_cache") and isinstance(backend._cache, dict):
        return list(backend._cache)
    return [key.decode() for key in backend._cache.get_client().keys("*")]


# --- Redis (tests that need one skip, saying so, when none answers) ---

TEST_REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("P360_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url() -> str:
    """A Redis the test may empty: REDIS_URL (which the whole run then uses), else P360_TEST_REDIS_URL, else
    database 15 of 127.0.0.1:6379."""
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis does not answer at {TEST_REDIS_URL} ({exc.__class__.__name__}): set REDIS_URL or start one")
    return TEST_REDIS_URL


@pytest.fixture
def redis_caches(redis_url, settings):
    """Switches this process's caches to Redis (the production setting for REDIS_URL), emptied around the test."""
    from p360.caches import cache_settings

    settings.CACHES = cache_settings(redis_url)
    caches["default"].clear()
    yield redis_url
    caches["default"].clear()


def _tenant(slug):
    from tenants.models import Tenant

    return Tenant.objects.get(slug=slug)


@pytest.fixture
def tenant_a(db):
    return _tenant("alpha")


@pytest.fixture
def tenant_b(db):
    return _tenant("beta")


@pytest.fixture
def in_a(tenant_a):
    """Runs the test's ORM calls in tenant alpha's schema."""
    connection.set_tenant(tenant_a)
    yield tenant_a
    connection.set_schema_to_public()


def host_of(tenant) -> str:
    return f"{tenant.slug}.localhost"


@pytest.fixture
def client_for():
    """client_for(tenant) -> an APIClient whose requests go to that tenant's host."""

    def make(tenant=None, token: str | None = None) -> APIClient:
        client = APIClient(HTTP_HOST=host_of(tenant) if tenant is not None else "localhost")
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture
def api_a(client_for, tenant_a):
    return client_for(tenant_a)


@pytest.fixture
def api_b(client_for, tenant_b):
    return client_for(tenant_b)


@pytest.fixture
def as_role(in_a, client_for, tenant_a, api_a):
    """as_role("admin") -> an API client of tenant alpha, signed in as a new user with that role (`.user`)."""
    from users.tests.factories import UserFactory

    counter = iter(range(1000))

    def make(role="member"):
        user = UserFactory(email=f"{role}-{next(counter)}@staff.test", role=role)
        client = client_for(tenant_a, login(api_a, user.email)["access"])
        client.user = user
        return client

    return make


def login(client: APIClient, email: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/auth/token", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


# --- real servers (gunicorn in a subprocess) ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict, **options) -> str:
    host = settings_dict.get("HOST") or settings_dict.get("OPTIONS", {}).get("host", "")
    query = {k: v for k, v in options.items()}
    if host.startswith("/"):
        query["host"] = host
        netloc = f"{settings_dict['USER']}@"
    else:
        netloc = f"{settings_dict['USER']}@{host}:{settings_dict.get('PORT') or 5432}"
    params = "&".join(f"{k}={quote(str(v), safe='/')}" for k, v in query.items())
    return f"postgresql://{netloc}/{settings_dict['NAME']}" + (f"?{params}" if params else "")


class Server:
    def __init__(self, database_url: str, workers: int = 2, threads: int = 1, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            # each server gets its own metrics directory (gunicorn.conf.py) unless the caller names one
            **{name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"},
            "DJANGO_SETTINGS_MODULE": "p360.settings_test",
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            **(env or {}),
        }
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "p360.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--threads",
                str(threads),
                "--graceful-timeout",
                "2",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            # a file, not a pipe: nobody reads a pipe while tests run, and a full one blocks the server's logging
            stderr=self.log,
        )
        self._wait()

    def _wait(self):
        import urllib.request

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read().decode(errors='replace')[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start within 30 s")

    def log_lines(self) -> list[str]:
        """What the server wrote to stderr so far (read without moving the offset it writes at)."""
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace").splitlines()

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def stop(self):
        self.log.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def live_server_factory(django_db_setup, django_db_blocker):
    """Starts gunicorn servers against the test database (or another URL); all stopped at the end."""
    servers = []

    def start(url: str | None = None, workers: int = 2, threads: int = 1, env: dict | None = None, **options) -> Server:
        with django_db_blocker.unblock():
            settings_dict = connection.settings_dict
        server = Server(url or database_url(settings_dict, **options), workers=workers, threads=threads, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    with django_db_blocker.unblock():
        _wait_for_other_sessions_to_end()


def _wait_for_other_sessions_to_end(timeout: float = 5.0) -> None:
    """The servers' connections close a moment after they exit; the test database is dropped after this."""
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(f"SELECT count(*) {others}")
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)
        cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")


@pytest.fixture(scope="session")
def live_server_url(live_server_factory) -> str:
    return live_server_factory().url
