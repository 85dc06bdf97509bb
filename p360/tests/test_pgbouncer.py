"""PgBouncer in front of PostgreSQL: session pooling keeps each client's search_path (so each tenant's);
transaction pooling does not. Run by scripts/pgbouncer-smoke, which starts both and sets the URLs."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection

SESSION_URL = os.environ.get("P360_PGBOUNCER_URL", "")
TRANSACTION_URL = os.environ.get("P360_PGBOUNCER_TRANSACTION_URL", "")

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not SESSION_URL, reason="PgBouncer is not running here: scripts/pgbouncer-smoke starts it and runs these"
    ),
]


def _connect(url: str) -> psycopg.Connection:
    """A connection through PgBouncer to the test database (which the URL's database name prefixes)."""
    split = urlsplit(url)
    return psycopg.connect(
        host=split.hostname, port=split.port, user=split.username, dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )  # fmt: skip


def _owner_of(conn: psycopg.Connection) -> str:
    return conn.execute("SELECT email FROM users_user WHERE role = 'owner'").fetchone()[0]


def test_this_suite_reaches_postgresql_through_pgbouncer():
    split = urlsplit(SESSION_URL)
    assert int(connection.settings_dict["PORT"]) == split.port
    with psycopg.connect(host=split.hostname, port=split.port, user="postgres", dbname="pgbouncer") as admin:
        admin.autocommit = True
        pools = {row[0]: row for row in admin.execute("SHOW POOLS").fetchall()}
        config = {row[0]: row[1] for row in admin.execute("SHOW CONFIG").fetchall()}

    assert connection.settings_dict["NAME"] in pools
    assert config["pool_mode"] == "session"


def test_session_pooling_keeps_each_clients_search_path():
    with _connect(SESSION_URL) as alpha, _connect(SESSION_URL) as beta:
        alpha.execute("SET search_path = t_alpha, public")
        beta.execute("SET search_path = t_beta, public")
        for _ in range(5):
            assert _owner_of(alpha) == "owner@alpha.test"
            assert _owner_of(beta) == "owner@beta.test"


@pytest.mark.skipif(
    not TRANSACTION_URL, reason="no transaction-mode PgBouncer here (scripts/pgbouncer-smoke starts one)"
)
def test_transaction_pooling_hands_one_clients_search_path_to_another():
    """Why P360 needs session pooling: django-tenants sets search_path once per connection, and in
    transaction mode the next transaction may run on a server connection another client set up."""
    with _connect(TRANSACTION_URL) as alpha, _connect(TRANSACTION_URL) as beta:  # one server connection
        alpha.execute("SET search_path = t_alpha, public")
        beta.execute("SET search_path = t_beta, public")

        assert _owner_of(alpha) == "owner@beta.test"  # alpha's request reads beta's users
