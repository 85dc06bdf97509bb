"""Schema cloning: a clone is the template, object for object and name for name, and nothing shared with it."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import override_settings
from django_tenants.utils import schema_exists

from p360.actors import SYSTEM
from tenants import services
from tenants.schemas import clone_schema, unsupported_objects

pytestmark = pytest.mark.django_db

CATALOG = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attcollation,
               rank() OVER (PARTITION BY c.oid ORDER BY a.attnum)
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = %(ns)s::regnamespace AND c.relkind = 'r'""",
    "relations": """SELECT relname, relkind, relpersistence, reloptions, obj_description(oid, 'pg_class')
                    FROM pg_class WHERE relnamespace = %(ns)s::regnamespace""",
    "constraints": """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
                      FROM pg_constraint WHERE connamespace = %(ns)s::regnamespace""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %(ns)s",
    "triggers": """SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
                   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                   WHERE c.relnamespace = %(ns)s::regnamespace AND NOT t.tgisinternal""",
    "sequences": """SELECT sequencename, data_type, start_value, increment_by, min_value, max_value, cache_size,
                           cycle, last_value FROM pg_sequences WHERE schemaname = %(ns)s""",
    "ownership": """SELECT s.relname, t.relname, d.deptype FROM pg_depend d
                    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_class t ON t.oid = d.refobjid
                    WHERE s.relnamespace = %(ns)s::regnamespace AND d.deptype IN ('a', 'i')""",
}


TENANT_ROWS = ("django_migrations", "django_content_type", "auth_permission")


def catalog(schema: str, rows: tuple[str, ...] = TENANT_ROWS) -> dict[str, list]:
    """What a schema holds, with its own name taken out of every definition (so that two can be compared)."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        search_path = cursor.fetchone()[0]
        cursor.execute(f'SET search_path = "{schema}"')
        try:
            for kind, query in CATALOG.items():
                cursor.execute(query, {"ns": schema})
                found[kind] = sorted(
                    tuple(str(value).replace(f"{schema}.", "S.") for value in row) for row in cursor.fetchall()
                )
            for table in rows:
                cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
                found[table] = cursor.fetchall()
        finally:
            cursor.execute(f"SET search_path = {search_path}")
    return found


def test_a_cloned_tenant_is_what_replaying_every_migration_makes():
    cloned, _ = services.tenant_create(actor=SYSTEM, slug="clone-co", name="Clone", owner_email="o@clone.test")
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):  # django-tenants' way: migrate an empty schema
        replayed, _ = services.tenant_create(actor=SYSTEM, slug="replay-co", name="Replay", owner_email="o@replay.test")

    clone, replay, template = catalog(cloned.schema_name), catalog(replayed.schema_name), catalog("tenant_template")

    for kind in clone:
        if kind != "django_migrations":
            assert clone[kind] == replay[kind], kind
    assert len(clone["indexes"]) > 50 and len(clone["triggers"]) == 2 and clone["auth_permission"]
    # the clone records the template's migrations as they are (with their dates); the replay all of them anew
    assert clone["django_migrations"] == template["django_migrations"]
    assert [row[1:3] for row in clone["django_migrations"]] == [row[1:3] for row in replay["django_migrations"]]


def test_the_clone_refuses_what_the_template_refuses():
    tenant, _ = services.tenant_create(actor=SYSTEM, slug="rules-co", name="Rules", owner_email="o@rules.test")

    with connection.cursor() as cursor:
        with pytest.raises(IntegrityError), transaction.atomic():  # CHECK constraint
            cursor.execute(
                f"INSERT INTO {tenant.schema_name}.users_user (id, email, first_name, last_name, role, status,"
                " job_title, phone, timezone, locale, is_staff, is_superuser, token_version, password,"
                " created_at, updated_at)"
                " VALUES (gen_random_uuid(), 'x@y.test', 'X', 'Y', 'emperor', 'active', '', '', 'UTC', 'en',"
                " false, false, 0, '!', now(), now())"
            )
        with pytest.raises(Exception, match="append-only"), transaction.atomic():  # the trigger
            cursor.execute(f"DELETE FROM {tenant.schema_name}.activity_activityentry")


@pytest.fixture
def scratch():
    """A source schema with what Django migrations rarely make: a serial, an identity, a generated column,
    an unlogged table with options, comments, a disabled trigger, a self-reference, a quoted name and a
    reserved word as a table name."""
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE SCHEMA scratch_src;
            CREATE SEQUENCE scratch_src.ticket_seq START WITH 100 INCREMENT BY 5;
            CREATE TABLE scratch_src."Odd Table" (
                id integer PRIMARY KEY DEFAULT nextval('scratch_src.ticket_seq'),
                big bigint GENERATED ALWAYS AS IDENTITY (START WITH 7),
                qty integer NOT NULL CHECK (qty > 0),
                twice integer GENERATED ALWAYS AS (qty * 2) STORED,
                parent_id integer REFERENCES scratch_src."Odd Table" (id) DEFERRABLE INITIALLY DEFERRED,
                label text COLLATE "C" DEFAULT 'x',
                CONSTRAINT odd_label_unique UNIQUE (label)
            );
            ALTER SEQUENCE scratch_src.ticket_seq OWNED BY scratch_src."Odd Table".id;
            COMMENT ON TABLE scratch_src."Odd Table" IS 'odd';
            COMMENT ON COLUMN scratch_src."Odd Table".qty IS 'how many';
            CREATE INDEX odd_qty_idx ON scratch_src."Odd Table" (qty) WHERE qty > 10;
            COMMENT ON INDEX scratch_src.odd_qty_idx IS 'big ones';
            CREATE UNLOGGED TABLE scratch_src.cache (k text PRIMARY KEY) WITH (fillfactor = 70);
            CREATE TABLE scratch_src."order" (id integer PRIMARY KEY, n integer);
            CREATE INDEX order_n_idx ON scratch_src."order" (n);
            CREATE TRIGGER odd_touch BEFORE UPDATE ON scratch_src."Odd Table"
                FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
            ALTER TABLE scratch_src."Odd Table" DISABLE TRIGGER odd_touch;
            INSERT INTO scratch_src."Odd Table" (qty, label) VALUES (1, 'a'), (2, 'b');
        """)
    return "scratch_src"


def test_clone_schema_copies_sequences_identities_comments_and_rows_and_shares_nothing(scratch):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        search_path = cursor.fetchone()[0]

    assert clone_schema(source=scratch, target="scratch_dst") == "catalog"

    source, target = catalog(scratch, rows=()), catalog("scratch_dst", rows=())
    for kind in CATALOG:
        assert source[kind] == target[kind], kind
    assert len(target["sequences"]) == 2 and len(target["triggers"]) == 1 and len(target["indexes"]) == 6
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        assert cursor.fetchone()[0] == search_path  # put back
        cursor.execute('SELECT id, big, qty, twice, label FROM scratch_dst."Odd Table" ORDER BY id')
        assert cursor.fetchall() == [(100, 7, 1, 2, "a"), (105, 8, 2, 4, "b")]
        # the clone's sequences go on from the template's values, on their own
        cursor.execute("INSERT INTO scratch_dst.\"Odd Table\" (qty, label) VALUES (3, 'c') RETURNING id, big")
        assert cursor.fetchone() == (110, 9)
        cursor.execute("INSERT INTO scratch_src.\"Odd Table\" (qty, label) VALUES (3, 'c') RETURNING id, big")
        assert cursor.fetchone() == (110, 9)
        cursor.execute("SELECT pg_get_serial_sequence('scratch_dst.\"Odd Table\"', 'id')")
        assert cursor.fetchone()[0] == "scratch_dst.ticket_seq"
        with pytest.raises(IntegrityError), transaction.atomic():  # the foreign key points into the clone
            cursor.execute('INSERT INTO scratch_dst."Odd Table" (qty, parent_id) VALUES (1, 999)')
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_source_with_objects_the_catalog_clone_does_not_know_is_cloned_the_generic_way():
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE SCHEMA plain_src;
            CREATE TABLE plain_src.item (id integer PRIMARY KEY, qty integer, label text,
                                         CONSTRAINT item_label_unique UNIQUE (label));
            INSERT INTO plain_src.item VALUES (1, 1, 'a'), (2, 2, 'b');
            CREATE VIEW plain_src.big_ones AS SELECT id FROM plain_src.item WHERE qty > 1;
        """)
    assert unsupported_objects("plain_src") == ["relation big_ones (kind v)"]

    assert clone_schema(source="plain_src", target="plain_dst") == "generic"

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM plain_dst.big_ones")
        assert cursor.fetchone() == (1,)
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE connamespace = 'plain_dst'::regnamespace AND contype = 'u'"
        )
        assert cursor.fetchall() == [("item_label_unique",)]  # named as in the source


def test_cloning_onto_an_existing_schema_fails_and_changes_nothing(scratch):
    with pytest.raises(Exception, match="already exists"), transaction.atomic():
        clone_schema(source=scratch, target=scratch)

    assert schema_exists(scratch)
    with connection.cursor() as cursor:
        cursor.execute('SELECT count(*) FROM scratch_src."Odd Table"')
        assert cursor.fetchone() == (2,)
