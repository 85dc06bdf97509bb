"""Exports of the benchmark tenant (1,000,000 users, 1,000,000 activity entries) over HTTP, under the shipped
production configuration: gunicorn with the repo's gunicorn.conf.py (read from the project root), DEBUG off.

    DATABASE_URL=... .venv/bin/python bench/export_bench.py --json-out bench/out/export.json

Measures, end to end from the first byte asked to the last read: the users export (`GET /api/v1/users/export`,
every user but the deactivated) and the activity export (CSV), rows per second and whether every row came
(against a count in the database); the growth of the workers' resident memory during them; and the users
list's throughput (wrk, -c4) alone and while two exports stream. Run by `make bench` after the tenant is made
(bench/run.py), or alone on a database where it exists.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.owndb import Gunicorn, print_rows, setup_django, write_json  # noqa: E402

HOST = "bench.localhost"
OWNER = (f"owner@{HOST}", "p360-demo-owner")
LIST = "/api/v1/users?status=active&ordering=last_name"
USERS_TARGET = 100_000  # rows/s
RSS_TARGET_MB = 100
SHARE_TARGET = 0.5


def request(port: int, method: str, path: str, body=None, token: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Host": HOST, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def download(port: int, path: str, token: str) -> tuple[float, int, int]:
    """Seconds, bytes and lines of a whole export, read in 1 MB pieces as a client saving it would."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Host": HOST, "Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    assert response.status == 200, response.status
    size = lines = 0
    while piece := response.read(1 << 20):
        size += len(piece)
        lines += piece.count(b"\n")
    conn.close()
    return time.monotonic() - started, size, lines


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssPeak(threading.Thread):
    """The highest resident memory of each worker, sampled every 50 ms."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids, self.peak, self.stopping = pids, {pid: rss_kb(pid) for pid in pids}, threading.Event()

    def run(self):
        while not self.stopping.wait(0.05):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kb(pid))


def wrk_rps(port: int, token: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "-H", f"Host: {HOST}", "-H", f"Authorization: Bearer {token}",
         f"http://127.0.0.1:{port}{LIST}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def database_counts() -> tuple[int, int]:
    setup_django()
    from django_tenants.utils import schema_context

    from activity.models import ActivityEntry
    from users.models import User, UserStatus

    with schema_context("t_bench"):
        return User.objects.exclude(status=UserStatus.DEACTIVATED).count(), ActivityEntry.objects.count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="wrk's run, alone and beside two exports")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (make bench installs it)")
    server = Gunicorn()
    try:
        status, body = request(server.port, "POST", "/api/v1/auth/token", {"email": OWNER[0], "password": OWNER[1]})
        if status != 200:
            raise SystemExit(f"login failed: {status} {body[:200]!r}")
        token = json.loads(body)["access"]
        users, entries = database_counts()  # after the login, which is an activity entry too
        print(f"benchmark tenant: {users:,} users to export, {entries:,} activity entries", file=sys.stderr)
        pids = server.workers()
        before = {pid: rss_kb(pid) for pid in pids}
        sampler = RssPeak(pids)
        sampler.start()
        runs = {"users": [], "activity": []}
        for _ in range(args.runs):
            runs["users"].append(download(server.port, "/api/v1/users/export", token))
            runs["activity"].append(download(server.port, "/api/v1/activity/export", token))
            print(f"  users {runs['users'][-1][0]:.2f} s, activity {runs['activity'][-1][0]:.2f} s", file=sys.stderr)
        sampler.stopping.set()
        sampler.join()
        growth_mb = max(sampler.peak[pid] - before[pid] for pid in pids) / 1024

        alone = wrk_rps(server.port, token, args.seconds)
        streaming = threading.Event()

        def export_loop():
            while not streaming.is_set():
                download(server.port, "/api/v1/users/export", token)

        exporters = [threading.Thread(target=export_loop, daemon=True) for _ in range(2)]
        for thread in exporters:
            thread.start()
        time.sleep(0.5)
        beside = wrk_rps(server.port, token, args.seconds)
        streaming.set()
        for thread in exporters:
            thread.join()
    finally:
        server.stop()

    rows = []
    for name, path, expected, target in (
        ("users", "/api/v1/users/export", users, USERS_TARGET),
        ("activity", "/api/v1/activity/export", entries, None),
    ):
        times = [run[0] for run in runs[name]]
        complete = all(run[2] - 1 == expected for run in runs[name])  # lines, less the header
        rate = expected / statistics.median(times)
        rows.append({
            "name": f"{name} export, GET {path} (shipped gunicorn.conf.py)",
            "value": round(rate), "unit": "rows/s",
            "target": f">= {target:,}" if target else None, "met": (rate >= target and complete) if target else None,
            "note": f"{expected:,} rows, {'every one' if complete else 'INCOMPLETE'}; {runs[name][0][1] / 1e6:.0f} MB; "
            f"median of {len(times)} ({', '.join(f'{t:.2f}' for t in times)} s)",
        })  # fmt: skip
    rows.append({
        "name": "worker memory growth during the exports (peak RSS - before)",
        "value": round(growth_mb, 1), "unit": "MB", "target": f"< {RSS_TARGET_MB}", "met": growth_mb < RSS_TARGET_MB,
        "note": f"{len(pids)} workers sampled every 50 ms",
    })  # fmt: skip
    share = beside / alone
    rows.append({
        "name": "users list throughput while two exports stream / alone",
        "value": round(share, 2), "unit": "x", "target": f">= {SHARE_TARGET}", "met": share >= SHARE_TARGET,
        "note": f"wrk -c4 {args.seconds} s on {LIST}: {alone:.0f} req/s alone, {beside:.0f} beside two exports",
    })  # fmt: skip
    print_rows(rows)
    write_json(args.json_out, rows, ("python bench/export_bench.py " + " ".join(sys.argv[1:])).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
