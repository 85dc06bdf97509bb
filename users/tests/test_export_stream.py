"""Exports over real HTTP (gunicorn with the repo's gunicorn.conf.py): a large export arrives whole, and one that
fails midway (its database session ended, its worker killed) is a broken transfer the client sees, never a
short file that looks whole."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection

from conftest import ROOT, database_url
from p360.tests.test_e2e import call

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

SLUG = "e2e-export"
HOST = f"{SLUG}.localhost"
PEOPLE = 100_000  # ~15 MB of CSV: more than the kernel's socket buffers hold, so the server is mid-stream
OWNER = (f"owner@{SLUG}.test", "p360-e2e-export-Owner-1")


@pytest.fixture(scope="module")
def big_tenant(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "p360.settings_test", "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--tenant", SLUG, "--users", str(PEOPLE),
         "--owner-email", OWNER[0], "--owner-password", OWNER[1], "--activity", "0"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    yield url
    subprocess.run(
        [sys.executable, "manage.py", "tenants", "delete", SLUG, "--yes"], cwd=ROOT, env=env, check=True, timeout=120
    )


def _token(server) -> str:
    status, _, body = call(server.url, "POST", "/api/v1/auth/token", HOST, {"email": OWNER[0], "password": OWNER[1]})
    assert status == 200, body
    return body["access"]


def _open_export(server, token: str) -> http.client.HTTPResponse:
    split = urlsplit(server.url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
    conn.request("GET", "/api/v1/users/export?status=active,invited,suspended,deactivated",
                 headers={"Host": HOST, "Authorization": f"Bearer {token}"})  # fmt: skip
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"  # no length: only the last chunk says "whole"
    return response


def test_a_large_export_arrives_whole(big_tenant, live_server_factory):
    server = live_server_factory(workers=1)
    response = _open_export(server, _token(server))

    body = response.read()

    lines = body.split(b"\n")
    assert lines[0].startswith(b"id,email,") and lines[-1] == b""
    assert len(lines) - 2 == PEOPLE + 1  # every person and the owner


@pytest.mark.parametrize("fault", ["database session ended", "worker killed"])
def test_an_export_that_fails_midway_is_a_broken_transfer(big_tenant, live_server_factory, fault):
    server = live_server_factory(workers=1, application_name="p360-e2e-export")
    response = _open_export(server, _token(server))
    first = response.read(64 * 1024)
    assert first.startswith(b"id,email,")

    if fault == "worker killed":
        for pid in server.worker_pids():
            os.kill(pid, signal.SIGKILL)
    else:
        with psycopg.connect(big_tenant, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'p360-e2e-export' AND query LIKE 'COPY%%'"
            ).fetchall()
        assert ended, "no COPY was running"
    time.sleep(0.2)

    with pytest.raises((http.client.IncompleteRead, http.client.HTTPException, ConnectionError)):
        while response.read(1 << 20):
            pass
