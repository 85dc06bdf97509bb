"""Every change of a tenant or a domain, however it is made (services, admin, shell, SQL), notifies the
`p360_routing` channel with the hosts whose routing it changes, when its transaction commits; every process
that serves requests listens and drops those hosts from its routing cache (tenants/routing.py)."""

from django.db import migrations

CHANNEL = "p360_routing"

FORWARD = f"""
CREATE OR REPLACE FUNCTION p360_routing_notify() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    hosts jsonb;
BEGIN
    IF TG_TABLE_NAME = 'tenants_domain' THEN
        hosts := jsonb_build_array(CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.domain END,
                                   CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.domain END);
        PERFORM pg_notify('{CHANNEL}', hosts::text);
    ELSE
        -- the tenant's hosts, 25 to a notification (a payload holds under 8000 bytes; a domain up to 253)
        FOR hosts IN
            SELECT jsonb_agg(domain) FROM (
                SELECT domain, (row_number() OVER (ORDER BY domain) - 1) / 25 AS chunk
                FROM tenants_domain WHERE tenant_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)
            ) d GROUP BY chunk
        LOOP
            PERFORM pg_notify('{CHANNEL}', hosts::text);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER p360_routing_notify AFTER INSERT OR UPDATE OR DELETE ON tenants_domain
    FOR EACH ROW EXECUTE FUNCTION p360_routing_notify();
CREATE TRIGGER p360_routing_notify AFTER UPDATE OR DELETE ON tenants_tenant
    FOR EACH ROW EXECUTE FUNCTION p360_routing_notify();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS p360_routing_notify ON tenants_domain;
DROP TRIGGER IF EXISTS p360_routing_notify ON tenants_tenant;
DROP FUNCTION IF EXISTS p360_routing_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
