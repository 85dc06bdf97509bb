"""The database refuses UPDATE, DELETE and TRUNCATE of activity entries; the retention command alone may
delete, by setting `p360.activity_prune` for its own transaction."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION public.p360_activity_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('p360.activity_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'activity entries are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

TRIGGERS = """
CREATE TRIGGER activity_append_only BEFORE UPDATE OR DELETE ON activity_activityentry
    FOR EACH ROW EXECUTE FUNCTION public.p360_activity_append_only();
CREATE TRIGGER activity_no_truncate BEFORE TRUNCATE ON activity_activityentry
    FOR EACH STATEMENT EXECUTE FUNCTION public.p360_activity_append_only();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS activity_append_only ON activity_activityentry;
DROP TRIGGER IF EXISTS activity_no_truncate ON activity_activityentry;
"""


class Migration(migrations.Migration):
    dependencies = [("activity", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTION + TRIGGERS, DROP_TRIGGERS)]
