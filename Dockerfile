# P360 application image: gunicorn serving p360.wsgi (settings in gunicorn.conf.py, P360_* variables).
# Debian bookworm, so that the PostgreSQL client is 15, the major version of the compose file's server:
# `manage.py tenants backup/restore` run pg_dump/pg_restore of the server's major version.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN useradd --system --create-home p360 && DJANGO_SECRET_KEY=collectstatic DATABASE_URL=postgresql://x@127.0.0.1/x \
    python manage.py collectstatic --noinput -v 0
USER p360
EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "p360.wsgi"]
