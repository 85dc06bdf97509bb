"""Schemathesis against the generated OpenAPI schema, over real HTTP, authenticated, with a fixed seed:
no 5xx anywhere, and every status code, content type, header and body conforms to the schema.

CI-sized (a few examples per operation; examples, coverage, fuzzing and stateful phases). Semantic
rejections the schema cannot express (unknown time zones, ids that do not exist, forged cursors) are 400s
by design, so the checks that expect every schema-valid request to succeed are not run.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from p360.tests.test_e2e import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

CHECKS = ",".join(
    ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
     "response_headers_conformance"]
)  # fmt: skip
# the password would change under the other tests' feet; refresh and logout only see random tokens anyway;
# exports stream whole tables
EXCLUDED = "/auth/password/change|/auth/logout|/auth/token/refresh|/export"


def _clean_env() -> dict:
    """Schemathesis on its own: nothing of this pytest run (its plugins read PYTEST_* and HYPOTHESIS_*)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {key: value for key, value in os.environ.items() if key in keep}


def _schema(base_url: str, host: str, path: Path) -> None:
    split = urlsplit(base_url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
    conn.request("GET", "/api/schema/", headers={"Host": host, "Accept": "application/vnd.oai.openapi+json"})
    response = conn.getresponse()
    assert response.status == 200
    path.write_bytes(response.read())
    json.loads(path.read_text())


def test_the_api_conforms_to_its_schema_under_fuzzing(live_server_factory, tmp_path):
    server = live_server_factory(workers=2)
    host = "e2e-fuzz.localhost"
    token = login(server.url, "e2e-fuzz")["access"]
    schema = tmp_path / "schema.json"
    _schema(server.url, host, schema)

    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"), "run", str(schema), "--url", server.url,
            "-H", f"Host: {host}", "-H", f"Authorization: Bearer {token}",
            "--seed", "360", "--max-examples", "5", "--workers", "2",
            "--checks", CHECKS, "--exclude-path-regex", EXCLUDED,
        ],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240, cwd=tmp_path, env=_clean_env(),
    )  # fmt: skip

    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert " passed" in summary, summary
    assert "✅ Stateful" in summary, summary  # the schema's links chain creates to the operations on what they made
