"""`make bench`: P360's list and search endpoints against DRF references, measured in one run.

    make bench                                   # data once (reused), then every measurement, RESULTS.md, plot
    .venv/bin/python bench/run.py --quick        # shorter runs, for a look while working
    .venv/bin/python bench/run.py --profile      # also a py-spy profile of the users list under load

Steps: (1) the benchmark tenant `bench` with 1,000,000 users, 1,000 organizations, memberships and 1,000,000
activity entries, made once by COPY (`seed_demo`); (2) the other targets' scripts when present
(bench/tenants_bench.py, bench/import_bench.py, bench/export_bench.py on the benchmark tenant, each writing
bench/out/<name>.json); (3) gunicorn (2 workers of 4 threads as in production,
DEBUG off, bench settings: P360's URLs plus /bench/nodb and /bench/naive-users) pinned to core 0, wrk and the
workers' PostgreSQL backends pinned to core 1 (the database off the server's core, as on a host of its own);
(4) throughput at -c8 (2 s warm-up, 3 runs, median) with CPU ms per request from /proc of the workers and of
their PostgreSQL backends; latency at concurrency 1 from the server's own timing (Server-Timing), deep and first
pages alternated; query counts; (5) bench/RESULTS.md and bench/results.png.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
sys.path.insert(0, str(ROOT))

from bench.owndb import Gunicorn  # noqa: E402

TENANT = "bench"
HOST = f"{TENANT}.localhost"
OWNER = (f"owner@{HOST}", "p360-demo-owner")
TICKS = os.sysconf("SC_CLK_TCK")
SERVER_CORE, LOAD_CORE = "0", "1"
# The workers' PostgreSQL backends run beside the load generator, off the server's core, as on a database host of
# its own: left to the scheduler they are woken on the core of the worker that queried them and take their CPU
# from the server's (the same list page code measured 370 req/s so, 471 with them moved; bench/NOTES.md).
DB_CORE = LOAD_CORE
LIST = "status=active&ordering=last_name"  # the list target: a filter and a sort, page mode with its count policy
RARE = "kealoha.4242"  # a search that few people match
DEEP_PAGES = ("page_deep", "page_last", "page_deep_list", "page_last_list", "page_deep_login")


# --- data ---


def _django():
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def data_counts() -> dict:
    """Rows in the benchmark tenant (zeros when it does not exist yet)."""
    _django()
    from django.db import connection

    from tenants.models import Tenant

    tenant = Tenant.objects.filter(slug=TENANT).first()
    if tenant is None:
        return {"users": 0, "activity": 0}
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{tenant.schema_name}".users_user')
        users = cursor.fetchone()[0]
        cursor.execute(f'SELECT count(*) FROM "{tenant.schema_name}".activity_activityentry')
        activity = cursor.fetchone()[0]
    connection.close()
    return {"users": users, "activity": activity}


def vacuum() -> None:
    """What autovacuum would do to a table in service: visibility map set (index-only scans), statistics fresh."""
    _django()
    from django.db import connection

    schema = f"t_{TENANT}"
    with connection.cursor() as cursor:
        for table in ("users_user", "organizations_membership", "activity_activityentry"):
            cursor.execute(f'VACUUM ANALYZE "{schema}".{table}')
    connection.close()


def ensure_data(users: int, activity: int) -> dict:
    from bench.owndb import ensure_database

    ensure_database()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    counts = data_counts()
    if counts["users"] < users or counts["activity"] < activity:
        print(f"making the benchmark tenant: {users:,} users, {activity:,} activity entries (once)", flush=True)
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "manage.py", "seed_demo", "--tenant", TENANT, "--users", str(users - 1),
             "--activity", str(activity)],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        print(f"  made in {time.monotonic() - started:.0f} s", flush=True)
        vacuum()
        counts = data_counts()
    print(f"benchmark tenant: {counts['users']:,} users, {counts['activity']:,} activity entries", flush=True)
    return counts


def deep_cursors(depth: int) -> dict:
    """Cursors that start `depth` rows into the default user and activity listings (as the API makes them)."""
    _django()
    from django.db import connection
    from django_tenants.utils import schema_context

    from activity.models import ActivityEntry
    from p360.api.cursors import encode_cursor
    from p360.api.ordering import OrderKey
    from tenants.models import Tenant
    from users.models import User

    with schema_context(Tenant.objects.get(slug=TENANT).schema_name):
        user = User.objects.exclude(status="deactivated").order_by("-created_at", "-id").values("created_at", "id")
        user = user[depth]
        entry = ActivityEntry.objects.order_by("-occurred_at", "-id").values("occurred_at", "id")[depth]
        listed = User.objects.exclude(status="deactivated").count()
        active = User.objects.filter(status="active").count()
    connection.close()
    keys = lambda name: [OrderKey(name, True, False), OrderKey("id", True, False)]  # noqa: E731
    return {
        "users": encode_cursor(keys("created_at"), [user["created_at"], user["id"]], "n"),
        "activity": encode_cursor(keys("occurred_at"), [entry["occurred_at"], entry["id"]], "n"),
        # the last page (25 rows a page) of the default list and of the list target's
        "last_page": -(-listed // 25),
        "last_page_active": -(-active // 25),
    }


def explain_searches(terms: list[str]) -> dict:
    """EXPLAIN ANALYZE of the search page queries as the API runs them (the index and the query must agree)."""
    _django()
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenants.models import Tenant
    from users.selectors import user_directory, user_rows, user_search

    plans = {}
    with schema_context(Tenant.objects.get(slug=TENANT).schema_name):
        for term in terms:
            queryset = user_search(user_directory(), term).exclude(status="deactivated")
            sql, params = user_rows(queryset.order_by("-created_at", "-id"))[:25].query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
                plans[term] = "\n".join(row[0] for row in cursor.fetchall())
    connection.close()
    return plans


# --- the server ---


def _pinned(core: str, command: list[str]) -> list[str]:
    return (["taskset", "-c", core] if shutil.which("taskset") and os.cpu_count() > 1 else []) + command


class Server(Gunicorn):
    """The benchmark's server: bench/gunicorn.conf.py and bench.settings, pinned to the server's core."""

    def __init__(self):
        env = {
            "P360_ACCESS_TOKEN_MINUTES": "240",
            "DATABASE_CONN_MAX_AGE": "3600",  # one backend per worker for the whole run (CPU is read per backend)
        }
        super().__init__(BENCH / "gunicorn.conf.py", "bench.settings", env, prefix=_pinned(SERVER_CORE, []))


def call(port: int, path: str, token: str | None = None, body=None, headers=None, method: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    sent = {"Host": HOST, "Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    method = method or ("POST" if body is not None else "GET")
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=sent)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload, dict(response.getheaders())


def backend_pids() -> list[int]:
    """PostgreSQL backends of the benchmark database (the workers' persistent connections)."""
    _django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return pids


def pin(pids: list[int], core: str) -> None:
    """Moves these processes (the workers' backends, which outlive a case) to one core."""
    if shutil.which("taskset") and os.cpu_count() > 1:
        for pid in pids:
            subprocess.run(["taskset", "-pc", core, str(pid)], capture_output=True, check=False)


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime of each process still there."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def _spent(before: dict[int, int], after: dict[int, int]) -> int:
    return sum(after[pid] - before[pid] for pid in before if pid in after)


def drain(port: int, token: str, limit: float = 120) -> None:
    """Waits until no request of a previous case is still running (slow references outlive wrk's window)."""
    _django()
    from django.db import connection

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state = 'active'"
            )
            busy = cursor.fetchone()[0]
        if not busy:
            break
        time.sleep(0.2)
    connection.close()


# --- measurements ---


@dataclass
class Case:
    key: str
    label: str
    path: str
    kind: str  # reference | p360
    duration: float = 5.0
    connections: int = 8  # slow references: 2, one per worker (more would only queue, and outlive the window)
    runs: list = field(default_factory=list)
    token: str | None = None  # another credential than the owner's JWT (an API key)

    def median(self, name):
        values = [run[name] for run in self.runs if run.get(name) is not None]
        return statistics.median(values) if values else None


_WRK_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: int, path: str, token: str, seconds: float, connections: int = 8) -> dict:
    command = _pinned(
        LOAD_CORE,
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "120s", "--latency",
         "-H", f"Host: {HOST}", "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}{path}"],
    )  # fmt: skip
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in text or "Socket errors" in text:
        raise SystemExit(f"wrk saw errors on {path}:\n{text}")
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    latencies = {m.group(1): _ms(m.group(2), m.group(3)) for m in _WRK_LATENCY.finditer(text)}
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "requests": requests,
        "p50": latencies.get("50"),
        "p99": latencies.get("99"),
    }


def throughput(server: Server, case: Case, token: str, runs: int, warmup: float) -> None:
    token = case.token or token
    drain(server.port, token)
    wrk(server.port, case.path, token, warmup, case.connections)
    for _ in range(runs):
        drain(server.port, token)
        workers, backends = server.workers(), backend_pids()
        pin(backends, DB_CORE)
        before = (cpu_ticks(workers), cpu_ticks(backends))
        result = wrk(server.port, case.path, token, case.duration, case.connections)
        drain(server.port, token)  # requests still running when wrk stopped: their CPU is counted, not them
        after = (cpu_ticks(workers), cpu_ticks(backends))
        per_request = 1000 / TICKS / max(1, result["requests"])
        result["cpu_app_ms"] = _spent(before[0], after[0]) * per_request
        result["cpu_db_ms"] = _spent(before[1], after[1]) * per_request
        case.runs.append(result)
    print(
        f"  {case.label:<58} {case.median('rps'):9.1f} req/s  p50 {case.median('p50'):8.2f} ms"
        f"  p99 {case.median('p99'):8.2f} ms  cpu {case.median('cpu_app_ms'):5.2f}+{case.median('cpu_db_ms'):5.2f} ms",
        flush=True,
    )


def server_ms(port: int, path: str, token: str, conn=None) -> tuple[float, float]:
    """(server-side ms from Server-Timing, client-side ms) of one request on a kept-alive connection."""
    headers = {"Host": HOST, "Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    client = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise SystemExit(f"{path}: {response.status}")
    timing = response.getheader("Server-Timing", "app;dur=nan")
    return float(timing.split("dur=")[1]), client


def latency_pairs(port: int, token: str, first: str, deep: str, requests: int) -> dict:
    """Concurrency 1, the two requests alternated so that drift hits both alike."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(10):
        server_ms(port, first, token, conn), server_ms(port, deep, token, conn)
    timings = {"first": [], "deep": []}
    for _ in range(requests):
        timings["first"].append(server_ms(port, first, token, conn))
        timings["deep"].append(server_ms(port, deep, token, conn))
    conn.close()
    return {name: _summary(values) for name, values in timings.items()}


def latency(port: int, token: str, path: str, requests: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(5):
        server_ms(port, path, token, conn)
    values = [server_ms(port, path, token, conn) for _ in range(requests)]
    conn.close()
    return _summary(values)


def _summary(values: list[tuple[float, float]]) -> dict:
    server = sorted(v[0] for v in values)
    client = sorted(v[1] for v in values)
    return {
        "n": len(values),
        "server_p50": statistics.median(server),
        "server_p99": server[min(len(server) - 1, int(len(server) * 0.99))],
        "client_p50": statistics.median(client),
    }


def api_key(port: int, token: str) -> str:
    """A new key of a `bench` service account (users:read), made through the API as the owner (the account of an
    earlier run is deleted first: its name is unique)."""
    status, body, _ = call(port, "/api/v1/service-accounts", token)
    for account in json.loads(body) if status == 200 else []:
        if account["name"] == "bench":
            call(port, f"/api/v1/service-accounts/{account['id']}", token, method="DELETE")
    status, body, _ = call(port, "/api/v1/service-accounts", token, body={"name": "bench", "scopes": ["users:read"]})
    if status != 201:
        raise SystemExit(f"service account: {status} {body[:300]!r}")
    account = json.loads(body)["id"]
    status, body, _ = call(port, f"/api/v1/service-accounts/{account}/keys", token, body={})
    if status != 201:
        raise SystemExit(f"API key: {status} {body[:300]!r}")
    return json.loads(body)["secret"]


def walk(port: int, token: str, path: str, limit: int) -> dict:
    """An integration's walk: `path` in cursor mode followed by next_cursor, one request after another on one
    kept-alive connection (a walk cannot be parallel: each page names the next), until the end or `limit` rows."""
    import orjson

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Host": HOST, "Authorization": f"Bearer {token}"}
    rows = requests = checked = 0
    ids = set()
    started = time.perf_counter()
    url = path
    while url and rows < limit:
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        body = orjson.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"walk: {response.status} {body}")
        rows += len(body["results"])
        if checked < 200_000:  # no row twice (checked on the first 200,000: a set of every id costs the client)
            ids.update(row["id"] for row in body["results"])
            checked += len(body["results"])
        requests += 1
        cursor = body["next_cursor"]
        url = f"{path}&{urlencode({'cursor': cursor})}" if cursor else None
    elapsed = time.perf_counter() - started
    conn.close()
    if len(ids) != checked:
        raise SystemExit("walk: a row came twice")
    return {"rows": rows, "requests": requests, "seconds": elapsed, "rows_per_s": rows / elapsed}


def queries(port: int, token: str | None, path: str) -> int:
    """Statements of a warm request: 16 calls warm every worker and thread (caches, connections; which one takes
    a call is the kernel's and gthread's choice), then the most that any of 8 more ran."""
    counts = []
    for _ in range(24):
        status, body, headers = call(port, path, token, headers={"X-Bench-Queries": "1"})
        if status != 200:
            raise SystemExit(f"{path}: {status} {body[:300]!r}")
        counts.append(int(headers["X-Bench-Queries"]))
    return max(counts[16:])


# --- other targets (scripts of their own, when present) ---


def other_targets(skip: bool) -> None:
    OUT.mkdir(exist_ok=True)
    scripts = (
        ("tenants_bench.py", "tenants"),
        ("import_bench.py", "import"),
        ("export_bench.py", "export"),
        ("admin_bench.py", "admin"),
    )
    for script, name in scripts:
        path = BENCH / script
        if skip or not path.exists():
            continue
        print(f"running bench/{script}", flush=True)
        done = subprocess.run([sys.executable, str(path), "--json-out", str(OUT / f"{name}.json")], cwd=ROOT)
        if done.returncode != 0:
            print(f"  bench/{script} failed (exit {done.returncode}); its last results, if any, are reported")


def load_other_targets() -> list[dict]:
    found = []
    for path in sorted(OUT.glob("*.json")) if OUT.exists() else []:
        try:
            data = json.loads(path.read_text())
            found.append(
                {"file": f"bench/out/{path.name}", "rows": data.get("rows", []), "command": data.get("command")}
            )
        except (OSError, ValueError) as exc:
            found.append({"file": f"bench/out/{path.name}", "rows": [], "command": None, "error": str(exc)})
    return found


# --- the run ---


def cases(cursors: dict, quick: bool) -> list[Case]:
    d = 3.0 if quick else 5.0
    slow = 10.0 if quick else 20.0
    users = "/api/v1/users?"
    naive = "/bench/naive-users?"
    activity = "/api/v1/activity?"
    table = [
        ("nodb", "DRF APIView, no database (ceiling)", "/bench/nodb", "reference", d),
        ("naive_list", "naive DRF list: status=active, ordering=last_name", naive + LIST, "reference", slow),
        ("naive_search", "naive DRF list: search=son (icontains)", naive + "search=son", "reference", slow),
        ("naive_search_rare", f"naive DRF list: search={RARE}", naive + "search=" + RARE, "reference", slow),
        ("list", "P360 users: status=active, ordering=last_name", users + LIST, "p360", d),
        ("list_key", "P360 users: status=active, ordering=last_name, with an API key", users + LIST, "p360", d),
        ("list_default", "P360 users: default (page 1, -created_at)", "/api/v1/users", "p360", d),
        ("search", "P360 users: search=son", users + "search=son", "p360", d),
        ("search_rare", f"P360 users: search={RARE}", users + "search=" + RARE, "p360", d),
        ("cursor_first", "P360 users: cursor page 1", users + "pagination=cursor", "p360", d),
        (
            "cursor_deep",
            "P360 users: cursor 500,000 rows deep",
            users + urlencode({"cursor": cursors["users"]}),
            "p360",
            d,
        ),
        ("page_deep", "P360 users: page 20,000 (offset 499,975)", users + "page=20000", "p360", d),
        (
            "page_last",
            f"P360 users: the last page ({cursors['last_page']:,})",
            users + f"page={cursors['last_page']}",
            "p360",
            d,
        ),
        (
            "page_deep_list",
            "P360 users: status=active, ordering=last_name, page 20,000",
            users + LIST + "&page=20000",
            "p360",
            d,
        ),
        (
            "page_last_list",
            f"P360 users: status=active, ordering=last_name, the last page ({cursors['last_page_active']:,})",
            users + LIST + f"&page={cursors['last_page_active']}",
            "p360",
            d,
        ),
        (
            "page_deep_login",
            "P360 users: ordering=-last_login (NULLs last), page 20,000",
            users + "ordering=-last_login&page=20000",
            "p360",
            d,
        ),
        ("naive_deep", "naive DRF list: page 20,000", naive + "page=20000", "reference", slow),
        ("activity_first", "P360 activity: cursor page 1", activity + "pagination=cursor", "p360", d),
        (
            "activity_deep",
            "P360 activity: cursor 500,000 rows deep",
            activity + urlencode({"cursor": cursors["activity"]}),
            "p360",
            d,
        ),
    ]
    return [Case(*row, connections=2 if row[0].startswith("naive") else 8) for row in table]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--activity", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200, help="Latency samples per request (concurrency 1).")
    parser.add_argument("--quick", action="store_true", help="Shorter runs (a look while working).")
    parser.add_argument("--profile", action="store_true", help="py-spy profile of the users list (bench/PROFILE.md).")
    parser.add_argument("--skip-other", action="store_true", help="Do not run the other targets' scripts.")
    parser.add_argument("--only", default="", help="Comma-separated case keys (a subset; RESULTS.md is not written).")
    parser.add_argument("--walk", type=int, default=1_000_000, help="Rows of the cursor walk (0: none).")
    parser.add_argument("--label", default="", help="A note for RESULTS.md (e.g. the data size).")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("installing wrk (apt-get)", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )

    started = time.monotonic()
    counts = ensure_data(args.users, args.activity)
    if not args.only:
        other_targets(args.skip_other)
    cursors = deep_cursors(args.depth)
    plans = {} if args.only else explain_searches(["son", RARE])
    selected = cases(cursors, args.quick)
    if args.only:
        selected = [case for case in selected if case.key in args.only.split(",")]
    warmup = 2.0
    server = Server()
    try:
        status, body, _ = call(server.port, "/api/v1/auth/token", body={"email": OWNER[0], "password": OWNER[1]})
        if status != 200:
            raise SystemExit(f"login failed: {status} {body[:300]!r}")
        token = json.loads(body)["access"]
        for case in selected:
            if case.key == "list_key":
                case.token = api_key(server.port, token)
        print("throughput at -c8 (median of runs; CPU ms per request: gunicorn workers + PostgreSQL backends)")
        for case in selected:
            throughput(server, case, token, args.runs, warmup)
        results = {case.key: case for case in selected}
        lat = {}
        if not args.only:
            print(f"latency at concurrency 1, server-side (Server-Timing), {args.requests} requests each")
            lat["users_cursor"] = latency_pairs(
                server.port, token, results["cursor_first"].path, results["cursor_deep"].path, args.requests
            )
            lat["activity_cursor"] = latency_pairs(
                server.port, token, results["activity_first"].path, results["activity_deep"].path, args.requests
            )
            for key in ("search", "search_rare", "list", "nodb", *DEEP_PAGES):
                lat[key] = latency(server.port, token, results[key].path, args.requests)
            for key in ("naive_search", "naive_search_rare", "naive_list", "naive_deep"):
                lat[key] = latency(server.port, token, results[key].path, 5 if args.quick else 11)
            for name, value in lat.items():
                print(f"  {name}: {json.dumps(value)}")
            query_counts = {
                "nodb_tenant_host": queries(server.port, None, "/bench/nodb"),
                "list_1": queries(server.port, token, "/api/v1/users?status=active&ordering=last_name&page_size=1"),
                "list_100": queries(server.port, token, "/api/v1/users?status=active&ordering=last_name&page_size=100"),
                "cursor_1": queries(server.port, token, "/api/v1/users?pagination=cursor&page_size=1"),
                "cursor_100": queries(server.port, token, "/api/v1/users?pagination=cursor&page_size=100"),
                "activity_1": queries(server.port, token, "/api/v1/activity?pagination=cursor&page_size=1"),
                "activity_100": queries(server.port, token, "/api/v1/activity?pagination=cursor&page_size=100"),
            }
            print(f"  queries: {json.dumps(query_counts)}")
        if args.walk:
            walked = walk(server.port, token, "/api/v1/users?pagination=cursor&page_size=100", args.walk)
            print(f"  cursor walk: {json.dumps(walked)}", flush=True)
            lat["walk"] = walked
        profile = None
        if args.profile:
            from bench.profile import profile_workers

            target = results.get("list") or next(case for case in selected if case.kind == "p360")
            profile = profile_workers(server, target.path, token, wrk)
    finally:
        server.stop()
    if args.only:
        return 0
    from bench.report import write_report

    write_report(
        results=results,
        latency=lat,
        query_counts=query_counts,
        counts=counts,
        args=args,
        elapsed=time.monotonic() - started,
        other=load_other_targets(),
        when=datetime.now(UTC),
        profile=profile,
        plans=plans,
    )
    print(f"wrote bench/RESULTS.md and bench/results.png in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
