"""Configuration: production settings pass Django's deployment checks; security headers are sent."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from conftest import database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_check_deploy_is_clean_under_production_defaults():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "P360_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="p360.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url(connection.settings_dict),
        EMAIL_URL="smtp+tls://p360:secret@smtp.example.test:587",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    console = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**env, "EMAIL_URL": "consolemail://"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert console.returncode != 0 and "p360.W001" in console.stderr + console.stdout  # secrets in the output


@pytest.mark.django_db
def test_without_a_secret_key_servers_refuse_to_start_and_check_deploy_fails():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "P360_"))}
    env.update(DJANGO_SETTINGS_MODULE="p360.settings", DATABASE_URL=database_url(connection.settings_dict))

    server = subprocess.run(
        [sys.executable, "-c", "import p360.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    deploy = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    migrations = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert server.returncode != 0 and "DJANGO_SECRET_KEY must be set" in server.stderr
    assert deploy.returncode != 0 and "security.W009" in deploy.stderr + deploy.stdout
    assert migrations.returncode == 0, migrations.stderr  # plain manage.py works without configuration


@pytest.mark.django_db
def test_security_headers(api_a, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000

    response = api_a.get("/api/v1/auth/me", HTTP_X_FORWARDED_PROTO="https")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
