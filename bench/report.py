"""bench/RESULTS.md and bench/results.png from one run of bench/run.py, with the targets checked."""

from __future__ import annotations

import platform
from pathlib import Path

BENCH = Path(__file__).resolve().parent
NOTES = BENCH / "NOTES.md"  # hand-written context (profiles, what was changed and why), appended when present


def _ratio(a, b):
    return a / b if a is not None and b else None


def targets(results: dict, latency: dict, query_counts: dict) -> list[dict]:
    rps = {key: case.median("rps") for key, case in results.items()}
    rows = []

    def add(name, value, unit, target, met, note=""):
        rows.append({"name": name, "value": value, "unit": unit, "target": target, "met": bool(met), "note": note})

    ceiling = _ratio(rps["list"], rps["nodb"])
    add(
        "users list page / DRF no-DB ceiling",
        ceiling,
        "x",
        ">= 0.3",
        ceiling >= 0.3,
        "status=active, ordering=last_name",
    )
    if "list_key" in rps:
        keyed = _ratio(rps["list_key"], rps["list"])
        add(
            "users list page with an API key / with a JWT",
            keyed,
            "x",
            ">= 0.9",
            keyed >= 0.9,
            "same list, req/s at -c8",
        )
    naive = _ratio(rps["list"], rps["naive_list"])
    add("users list page / naive DRF list", naive, "x", ">= 20", naive >= 20, "same filter and sort")
    for key, term in (("search", "son"), ("search_rare", "kealoha.4242")):
        p50 = latency[key]["server_p50"]
        add(f"search `{term}` p50, server-side", p50, "ms", "<= 15", p50 <= 15, f"{latency[key]['n']} requests, c1")
        ratio = _ratio(rps[key], rps[f"naive_{key}"])
        add(f"search `{term}` / naive icontains list", ratio, "x", ">= 50", ratio >= 50, "req/s at -c8")
    for key, label in (("users_cursor", "users"), ("activity_cursor", "activity")):
        pair = latency[key]
        ratio = _ratio(pair["deep"]["server_p50"], pair["first"]["server_p50"])
        note = f"p50 {pair['deep']['server_p50']:.2f} ms vs {pair['first']['server_p50']:.2f} ms, alternated"
        add(f"{label}: cursor 500,000 rows deep / page 1", ratio, "x", "<= 1.2", ratio <= 1.2, note)
    add(
        "warm request: queries for the tenant lookup", query_counts["nodb_tenant_host"], "queries", "0",
        query_counts["nodb_tenant_host"] == 0, "/bench/nodb on the tenant host",
    )  # fmt: skip
    deep_pages = ("page_deep", "page_last", "page_deep_list", "page_last_list", "page_deep_login")
    for key in deep_pages:
        if key in latency:
            p50 = latency[key]["server_p50"]
            label = results[key].label.removeprefix("P360 users: ")
            add(
                f"deep page: {label}, p50 server-side",
                p50,
                "ms",
                "<= 50",
                p50 <= 50,
                f"{latency[key]['n']} requests, c1",
            )
    if "naive_deep" in rps:
        ratio = _ratio(rps["page_deep"], rps["naive_deep"])
        add("page 20,000 / naive DRF list's page 20,000", ratio, "x", ">= 5", ratio >= 5, "req/s at -c8")
    for key in ("cursor_first", "cursor_deep"):
        ratio = _ratio(rps[key], rps["list_default"])
        add(f"{results[key].label.removeprefix('P360 ')} / page mode's page 1", ratio, "x", ">= 1", ratio >= 1,
            "req/s at -c8, default ordering")  # fmt: skip
    cpu = _ratio(results["cursor_deep"].median("cpu_db_ms"), results["cursor_first"].median("cpu_db_ms"))
    add("users cursor: PostgreSQL CPU deep / first", cpu, "x", "<= 1.3", cpu <= 1.3, "per request, -c8")
    if "walk" in latency:
        walked = latency["walk"]
        note = f"{walked['rows']:,} rows in {walked['requests']:,} requests, {walked['seconds']:.1f} s, one connection"
        add("cursor walk at page_size=100", walked["rows_per_s"], "rows/s", ">= 20,000", walked["rows_per_s"] >= 20_000,
            note)  # fmt: skip
    for key, label in (("list", "users page"), ("cursor", "users cursor"), ("activity", "activity cursor")):
        small, large = query_counts[f"{key}_1"], query_counts[f"{key}_100"]
        add(
            f"{label}: queries at page_size 1 / 100", f"{small} / {large}", "queries", "equal", small == large,
            "every statement the request ran",
        )  # fmt: skip
    return rows


def _fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(results.values())
    labels = [case.label for case in cases]
    colors = ["#9aa5b1" if case.kind == "reference" else "#2b6cb0" for case in cases]
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 0.45 * len(cases) + 1.5), sharey=True)
    left.barh(labels, [case.median("rps") for case in cases], color=colors)
    left.set_xscale("log")
    left.set_xlabel("requests/s at -c8 (log scale; grey: references)")
    right.barh(labels, [case.median("p50") for case in cases], color=colors)
    right.set_xscale("log")
    right.set_xlabel("p50 latency under load, ms (log scale)")
    left.invert_yaxis()
    fig.suptitle("P360 vs DRF references, one run (gunicorn 2x4 threads on core 0; wrk and PostgreSQL on core 1)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(*, results, latency, query_counts, counts, args, elapsed, other, when, profile=None, plans=None):
    rows = targets(results, latency, query_counts)
    nodb = results["nodb"].median("rps")
    naive = {
        "list": "naive_list",
        "search": "naive_search",
        "search_rare": "naive_search_rare",
        "page_deep": "naive_deep",
    }
    lines = [
        "# P360 benchmark results",
        "",
        f"Made by `make bench` (`bench/run.py`) on {when:%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min"
        + (f"; {args.label}" if args.label else "")
        + ".",
        f"Data: tenant `bench`, {counts['users']:,} users, {counts['activity']:,} activity entries, "
        "~1,000 organizations, memberships (`seed_demo`, COPY).",
        f"Machine: {platform.machine()}, {_cpus()} cores, Python {platform.python_version()}, {_pg_version()}. "
        "Server: gunicorn, 2 workers of 4 threads, DEBUG off, persistent connections, pinned to core 0; "
        "load: wrk -t1 -c8 on core 1, and the workers' PostgreSQL backends moved to core 1 too (the database off "
        "the server's core, as on a host of its own); 2 s warm-up, "
        f"{args.runs} runs per case, median. Latency: concurrency 1, server-side (`Server-Timing`), "
        f"{args.requests} requests. The machine is shared: absolute numbers move, the ratios are the point.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | met | note |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        value = _fmt(row["value"]) + ("" if row["unit"] in ("queries",) else f" {row['unit']}")
        lines.append(
            f"| {row['name']} | {value} | {row['target']} | {'yes' if row['met'] else '**no**'} | {row['note']} |"
        )
    lines += [
        "",
        "## Throughput and CPU (-c8)",
        "",
        "| case | req/s | p50 ms | p99 ms | CPU ms/req (app) | CPU ms/req (PostgreSQL) | / no-DB | / naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, case in results.items():
        rps = case.median("rps")
        vs_naive = _ratio(rps, results[naive[key]].median("rps")) if key in naive else None
        lines.append(
            f"| {case.label} | {_fmt(rps, 1)} | {_fmt(case.median('p50'))} | {_fmt(case.median('p99'))} "
            f"| {_fmt(case.median('cpu_app_ms'))} | {_fmt(case.median('cpu_db_ms'))} | {_fmt(_ratio(rps, nodb))} "
            f"| {_fmt(vs_naive, 1)} |"
        )
    lines += ["", "## Latency at concurrency 1 (server-side)", "", "| request | n | p50 ms | p99 ms | client p50 ms |"]
    lines.append("|---|---|---|---|---|")
    for key, value in latency.items():
        if key == "walk":
            continue
        for part, summary in value.items() if "first" in value else [("", value)]:
            name = f"{key} {part}".strip()
            lines.append(
                f"| {name} | {summary['n']} | {_fmt(summary['server_p50'])} | {_fmt(summary['server_p99'])} "
                f"| {_fmt(summary['client_p50'])} |"
            )
    lines += ["", "## Queries per request (warm)", "", "| request | statements |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in query_counts.items()]
    lines += ["", "## Requests", "", "| case | path |", "|---|---|"]
    lines += [f"| {case.label} | `{case.path[:120]}` |" for case in results.values()]
    lines += _other_section(other)
    if plans:
        lines += ["", "## Search plans (EXPLAIN ANALYZE of the page query as the API runs it, once, cold)"]
        for term, plan in plans.items():
            lines += ["", f"`search={term}`:", "", "```", plan, "```"]
    if profile:
        lines += ["", "## Profile (py-spy, users list under load)", "", profile]
    if NOTES.exists():
        lines += ["", NOTES.read_text().strip()]
    lines += ["", "![req/s and p50 per case](results.png)", ""]
    (BENCH / "RESULTS.md").write_text("\n".join(lines))
    plot(results, BENCH / "results.png")


def _other_section(other: list[dict]) -> list[str]:
    lines = ["", "## Other targets", ""]
    if not other:
        return [*lines, "No bench/out/*.json was found (bench/tenants_bench.py and bench/import_bench.py write them)."]
    lines += ["| target | measured | goal | met | note | from |", "|---|---|---|---|---|---|"]
    for found in other:
        if found.get("error"):
            lines.append(f"| (unreadable) | - | - | **no** | {found['error']} | {found['file']} |")
        for row in found["rows"]:
            value = f"{_fmt(row.get('value'))} {row.get('unit') or ''}".strip()
            target = row.get("target")
            goal, met = ("-", "-") if target is None else (target, "yes" if row.get("met") else "**no**")
            lines.append(
                f"| {row.get('name')} | {value} | {goal} | {met} | {row.get('note') or ''} | {found['file']} |"
            )
    root = str(BENCH.parent) + "/"
    commands = [f"`{found['command'].replace(root, '')}`" for found in other if found.get("command")]
    if commands:
        lines += ["", "Commands: " + "; ".join(commands)]
    return lines


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def _pg_version() -> str:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        connection.close()
        return f"PostgreSQL {version.split()[0]}"
    except Exception:
        return "PostgreSQL"
