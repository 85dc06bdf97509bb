from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]

    # pg_trgm lives in public (on every tenant's search_path); creating it is idempotent.
    operations = [migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public", migrations.RunSQL.noop)]
