"""The benchmark harness's pieces that production depends on not leaking, and its report of other targets."""

import json

import pytest
from django.urls import Resolver404, resolve


def test_the_reference_views_are_not_in_the_production_urlconfs():
    for urlconf in ("p360.urls_tenant", "p360.urls_public"):
        for path in ("/bench/nodb", "/bench/naive-users"):
            with pytest.raises(Resolver404):
                resolve(path, urlconf=urlconf)

    assert resolve("/bench/nodb", urlconf="bench.urls").func.view_class.__name__ == "NoDatabaseView"


def test_the_report_lists_other_targets_and_flags_unreadable_files(tmp_path, monkeypatch):
    from bench import report, run

    out = tmp_path / "out"
    out.mkdir()
    row = {"name": "clone vs migrations", "value": 12.5, "unit": "x", "target": ">= 5", "met": True, "note": "n"}
    (out / "tenants.json").write_text(json.dumps({"rows": [row], "command": "bench/tenants_bench.py"}))
    (out / "import.json").write_text("{not json")
    monkeypatch.setattr(run, "OUT", out)

    lines = "\n".join(report._other_section(run.load_other_targets()))

    assert "| clone vs migrations | 12.50 x | >= 5 | yes | n | bench/out/tenants.json |" in lines
    assert "| (unreadable) |" in lines and "bench/out/import.json" in lines
    assert "No bench/out/*.json" in "\n".join(report._other_section([]))
