"""A benchmark's own database, on the server of DATABASE_URL or, when it is unset, on the embedded one.

    url = dedicated_database("tenants_bench")   # before django.setup(): DATABASE_URL now points there

The database is `<base name>_<suffix>` (e.g. p360_tenants_bench), created when missing and kept between
runs, so that what a benchmark builds once (1,000 tenants) is reused and nothing else is disturbed. With
the embedded server, this process stays attached to it until it exits (p360/devdb.py), and child
processes (gunicorn, manage.py) reach it through DATABASE_URL.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def _admin_of(parts) -> dict:
    """Connection settings for the server's `postgres` database (to create another)."""
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "host": parts.hostname or query.get("host", ""),
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "dbname": "postgres",
    }


def _create_if_missing(admin: dict, name: str) -> None:
    import psycopg

    with psycopg.connect(**admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def ensure_database() -> None:
    """DATABASE_URL's database, created when missing (`make bench` with DATABASE_URL=.../p360_bench on a new
    server). Without DATABASE_URL the embedded server's database is made by p360.devdb."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        parts = urlsplit(url)
        _create_if_missing(_admin_of(parts), parts.path.lstrip("/") or "p360")


def dedicated_database(suffix: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url:
        parts = urlsplit(url)
        base = parts.path.lstrip("/") or "p360"
        name = f"{base}_{suffix}"
        new_url = urlunsplit(parts._replace(path=f"/{name}"))
        admin = _admin_of(parts)
    else:
        sys.path.insert(0, str(ROOT))
        from p360 import devdb

        settings = devdb.database_settings()  # starts the embedded server if needed, and attaches to it
        name = f"{settings['NAME']}_{suffix}"
        new_url = f"postgresql://postgres@/{name}?host={settings['HOST']}"
        admin = {"host": settings["HOST"], "user": "postgres", "dbname": "postgres"}
    _create_if_missing(admin, name)
    os.environ["DATABASE_URL"] = new_url
    return new_url


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` against DATABASE_URL, output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True,
        check=check,
    )  # fmt: skip


def write_json(path: str | None, rows: list[dict], command: str) -> None:
    import json

    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({"rows": rows, "command": command}, indent=2) + "\n", encoding="utf-8")


def print_rows(rows: list[dict]) -> None:
    for row in rows:
        met = "" if row["met"] is None else ("  met" if row["met"] else "  NOT MET")
        target = f"  (target {row['target']})" if row["target"] else ""
        print(f"{row['name']:<58} {row['value']:>10} {row['unit']:<8}{target}{met}")
        if row.get("note"):
            print(f"    {row['note']}")


def setup_django() -> None:
    """Django for a benchmark script run from bench/ (after dedicated_database() chose its database)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p360.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()


def prepare(suffix: str) -> str:
    """A benchmark script's start: its own database (made and migrated when needed), then Django on it."""
    url = dedicated_database(suffix)
    print(f"database: {url}", file=sys.stderr)
    manage("migrate", "--noinput", "-v", "0")
    setup_django()
    return url


# --- the server as shipped ---


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """A gunicorn serving P360 on a free loopback port, DEBUG off, until stop(). By default as shipped: the
    repo's gunicorn.conf.py (workers, worker class, timeout) and p360.settings; `config`, `settings`, `env` and
    `prefix` (e.g. taskset) make the benchmark server of bench/run.py."""

    def __init__(self, config: Path | None = None, settings: str = "p360.settings", env=None, prefix=()):
        self.port = _free_port()
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "P360_THROTTLE": "off",
            "P360_BIND": f"127.0.0.1:{self.port}",
            "P360_LOG_FORMAT": "text",
            **(env or {}),
        }
        environment.setdefault("DJANGO_SECRET_KEY", "p360-bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
        command = [sys.executable, "-m", "gunicorn", "p360.wsgi", "--log-level", "warning"]
        if config is not None:
            command += ["-c", str(config), "-b", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen([*prefix, *command], cwd=ROOT, env=environment)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz", headers={"Host": "localhost"})
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("gunicorn did not start")

    def workers(self) -> list[int]:
        """The worker processes (a prefix such as taskset execs gunicorn: the child started is the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
