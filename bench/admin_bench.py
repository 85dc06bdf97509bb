"""The tenant admin on the benchmark tenant (1,000,000 users, 1,000,000 activity entries, ~1,000 organizations)
under the shipped production configuration (gunicorn.conf.py, DEBUG off), signed in as its owner.

    DATABASE_URL=... .venv/bin/python bench/admin_bench.py --json-out bench/out/admin.json

Every changelist, search, filter, date drill-down, sort and deep page that staff reach first, each timed at
concurrency 1 on one kept-alive connection: the median of `--requests` after one warm-up request (which pays
what a list remembers for minutes: its count estimate and deep-page anchors). Timed at the client on loopback,
so an upper bound of the server's time. Then a bulk action on 1,000 selected users (suspend, then activate
again), which must finish and change all 1,000.
"""

from __future__ import annotations

import argparse
import http.client
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.owndb import Gunicorn, print_rows, setup_django, write_json  # noqa: E402

HOST = "bench.localhost"
OWNER = (f"owner@{HOST}", "p360-demo-owner")
TARGET_MS = 300
USERS, ORGS, ACTIVITY = "/admin/users/user/", "/admin/organizations/organization/", "/admin/activity/activityentry/"


class Session:
    """A signed-in admin session over one kept-alive connection (cookies kept by hand)."""

    def __init__(self, port: int, host: str = HOST):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.host = host
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict | list | None = None) -> tuple[int, str, float]:
        headers = {"Host": self.host, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        elapsed = (time.perf_counter() - started) * 1000
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, text, elapsed

    def csrf(self, page: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def login(self, email: str, password: str) -> None:
        status, page, _ = self.send("GET", "/admin/login/")
        form = {"username": email, "password": password, "csrfmiddlewaretoken": self.csrf(page), "next": "/admin/"}
        status, page, _ = self.send("POST", "/admin/login/?next=/admin/", form)
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"admin login failed: {status} {page[:300]!r}")


def facts() -> dict:
    """What the pages ask for: a date to drill into, an organization with members, the last page's number."""
    setup_django()
    from django.db import connection
    from django_tenants.utils import schema_context

    from organizations.models import Membership, Organization
    from tenants.models import Tenant
    from users.models import User

    with schema_context(Tenant.objects.get(slug="bench").schema_name):
        first = User.objects.order_by("created_at").values_list("created_at", flat=True).first()
        org = Organization.objects.filter(pk=Membership.objects.values("organization_id")[:1]).get()
        users = User.objects.count()
        selected = list(User.objects.filter(status="active").exclude(role="owner").values_list("id", flat=True)[:1000])
    connection.close()
    return {"year": first.year, "month": first.month, "day": first.day, "org": str(org.pk), "users": users,
            "selected": [str(pk) for pk in selected]}  # fmt: skip


def pages(f: dict) -> list[tuple[str, str]]:
    last = -(-f["users"] // 50)
    y, m, d = f["year"], f["month"], f["day"]
    return [
        ("users changelist", USERS),
        ("users search ?q=quack", USERS + "?q=quack"),
        ("users search ?q=owner@bench", USERS + "?q=owner%40bench"),
        ("users search ?q=son", USERS + "?q=son"),
        ("users filter ?status__exact=active", USERS + "?status__exact=active"),
        ("users filter by organization", USERS + f"?organization={f['org']}"),
        ("users page 1,000 (?p=1000)", USERS + "?p=1000"),
        (f"users last page (?p={last:,})", USERS + f"?p={last}"),
        ("users sorted by email (?o=1)", USERS + "?o=1"),
        ("users sorted by email, page 10,000", USERS + "?o=1&p=10000"),
        ("users date drill-down: year", USERS + f"?created_at__year={y}"),
        ("users date drill-down: month", USERS + f"?created_at__year={y}&created_at__month={m}"),
        ("users date drill-down: day", USERS + f"?created_at__year={y}&created_at__month={m}&created_at__day={d}"),
        ("organizations changelist", ORGS),
        ("organizations sorted by members", ORGS + "?o=-4"),
        ("organizations search ?q=eng", ORGS + "?q=eng"),
        ("organization with its memberships (change page)", ORGS + f"{f['org']}/change/"),
        ("activity changelist", ACTIVITY),
        ("activity filter ?verb=user", ACTIVITY + "?verb=user"),
        ("activity search ?q=quack", ACTIVITY + "?q=quack"),
        ("activity page 1,000 (?p=1000)", ACTIVITY + "?p=1000"),
        ("activity date drill-down: year", ACTIVITY + f"?occurred_at__year={y}"),
    ]


def timed_pages(session: Session, named_paths: list[tuple[str, str]], requests: int, label: str) -> list[dict]:
    """A row per page: the median of `requests` GETs after a warm-up one, against TARGET_MS."""
    rows = []
    for name, path in named_paths:
        status, page, _ = session.send("GET", path)  # warm: counts, anchors, connections
        if status != 200:
            raise SystemExit(f"{path}: {status} {page[:300]!r}")
        times = []
        for _ in range(requests):
            status, _page, elapsed = session.send("GET", path)
            times.append(elapsed)
        p50 = statistics.median(times)
        rows.append({"name": f"{label}: {name}", "value": round(p50, 1), "unit": "ms", "target": f"<= {TARGET_MS}",
                     "met": p50 <= TARGET_MS, "note": f"median of {requests}, c1; `{path[:90]}`"})  # fmt: skip
        print_rows(rows[-1:])
    return rows


def bulk(session: Session, ids: list[str]) -> tuple[float, int]:
    """Suspends, then activates again, `ids` through the changelist's action form; (seconds, users changed)."""
    _status, page, _ = session.send("GET", USERS)
    total, changed = 0.0, 0
    for action, done in (("suspend", "suspended"), ("activate", "activated")):
        form = [("action", action), ("csrfmiddlewaretoken", session.csrf(page)), ("index", "0")]
        form += [("_selected_action", pk) for pk in ids]
        status, _page, elapsed = session.send("POST", USERS, form)
        if status != 302:
            raise SystemExit(f"bulk {action}: {status} {_page[:500]!r}")
        total += elapsed / 1000
        _status, page, _ = session.send("GET", USERS)
        found = re.search(rf"(\d+) user\(s\) {done}", page)
        changed += int(found.group(1)) if found else 0
    return total, changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=7)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    f = facts()
    server = Gunicorn()
    rows = []
    try:
        session = Session(server.port)
        session.login(*OWNER)
        rows += timed_pages(session, pages(f), args.requests, "admin")
        seconds, changed = bulk(session, f["selected"])
        wanted = 2 * len(f["selected"])
        rows.append({"name": f"admin: bulk suspend + activate of {len(f['selected']):,} selected users",
                     "value": round(seconds, 1), "unit": "s", "target": "finishes, every user changed",
                     "met": changed == wanted, "note": f"{changed:,} of {wanted:,} changes reported"})  # fmt: skip
        print_rows(rows[-1:])
    finally:
        server.stop()
    write_json(args.json_out, rows, "bench/admin_bench.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
