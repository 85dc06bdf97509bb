"""P360's database backend: django-tenants' PostgreSQL backend (schema per tenant) with a health check that
costs no round trip (base.py)."""
