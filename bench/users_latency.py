"""Latency of the user directory on a seeded tenant: search, page 1 and a deep cursor page, over HTTP.

    DATABASE_URL=... python manage.py seed_demo --tenant bench100k --users 100000
    DATABASE_URL=... python bench/users_latency.py --tenant bench100k [--requests 100] [--depth 50000]

Starts gunicorn (2 workers, throttling off) on a free port against DATABASE_URL, signs in as the seeded
owner, sends each request `--requests` times at concurrency 1 and prints p50/p95 (client-side, loopback),
plus the EXPLAIN of the search query.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(port, host, path, token=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST" if body else "GET", path, body=json.dumps(body) if body else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def _deep_cursor(tenant: str, depth: int) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p360.settings")
    import django

    django.setup()
    from django_tenants.utils import schema_context

    from p360.api.ordering import OrderKey
    from p360.api.pagination import encode_cursor
    from tenants.models import Tenant
    from users.models import User

    keys = [OrderKey("created_at", True, False), OrderKey("id", True, False)]
    with schema_context(Tenant.objects.get(slug=tenant).schema_name):
        rows = User.objects.exclude(status="deactivated").order_by("-created_at", "-id")
        row = rows.values("created_at", "id")[depth]
    return encode_cursor(keys, [row["created_at"], row["id"]], "n")


def _explain(tenant: str, text: str) -> str:
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenants.models import Tenant
    from users.selectors import user_list, user_search

    with schema_context(Tenant.objects.get(slug=tenant).schema_name), connection.cursor() as cursor:
        query = user_search(user_list(), text).exclude(status="deactivated").order_by("-created_at", "-id")[:25]
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN ANALYZE " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", default="bench100k")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--depth", type=int, default=50_000)
    parser.add_argument("--search", default="son")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    cursor = _deep_cursor(args.tenant, args.depth)
    port = _free_port()
    env = {**os.environ, "P360_THROTTLE": "off", "DJANGO_DEBUG": "false", "DJANGO_SECURE_SSL_REDIRECT": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "p360.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        host = f"{args.tenant}.localhost"
        for _ in range(100):
            try:
                _call(port, host, "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        credentials = {"email": f"owner@{host}", "password": "p360-demo-owner"}
        status, body = _call(port, host, "/api/v1/auth/token", body=credentials)
        assert status == 200, body
        token = json.loads(body)["access"]
        cases = {
            "page 1 (default order, count)": "/api/v1/users",
            f"search {args.search!r} (page mode)": "/api/v1/users?" + urlencode({"search": args.search}),
            f"search {args.search!r} (cursor mode)": "/api/v1/users?"
            + urlencode({"search": args.search, "pagination": "cursor"}),
            "cursor page 1": "/api/v1/users?pagination=cursor",
            f"cursor page {args.depth:,} rows deep": "/api/v1/users?" + urlencode({"cursor": cursor}),
            "filter status=active, order last_name": "/api/v1/users?status=active&ordering=last_name",
        }
        print(f"{'request':<44} {'p50 ms':>8} {'p95 ms':>8}")
        for name, path in cases.items():
            timings = []
            for _ in range(args.requests):
                started = time.perf_counter()
                status, body = _call(port, host, path, token)
                timings.append((time.perf_counter() - started) * 1000)
                assert status == 200, (name, status, body[:300])
            timings.sort()
            print(f"{name:<44} {statistics.median(timings):8.1f} {timings[int(len(timings) * 0.95) - 1]:8.1f}")
        print("\nEXPLAIN ANALYZE of the search query:\n" + _explain(args.tenant, args.search))
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
