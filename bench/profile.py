"""A py-spy profile of the gunicorn workers while wrk loads one request: where the CPU goes, as a table."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SECONDS = 8
_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:)]+)(?::\d+)?\)$")


def _where(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({path})"


def summarize(raw_files: list[Path], top: int = 18) -> str:
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for raw in raw_files:
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [_where(frame) for frame in stack.split(";")]
            n = int(count)
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    if not total:
        return "(no samples)"
    lines = [f"{total} samples of both workers holding the GIL (py-spy --gil, {SECONDS} s at 200 Hz): Python CPU.", ""]
    lines += ["| self % | function |", "|---|---|"]
    lines += [f"| {n * 100 / total:.1f} | `{frame}` |" for frame, n in own.most_common(top)]
    mine = ("p360/", "users/", "activity/", "tenants/", "bench/")
    phases = ("authenticate (rest_framework_simplejwt", "execute_sql", "as_sql (django/db/models/sql/compiler",
              "filter_queryset (django_filters", "Cursor.execute (psycopg", "render", "from_db")  # fmt: skip
    picked = [
        (f, n)
        for f, n in inclusive.most_common(600)
        if (any(m in f for m in mine) and "middleware" not in f.lower()) or any(p in f for p in phases)
    ][:top]
    lines += ["", "| inclusive % | function |", "|---|---|"]
    lines += [f"| {n * 100 / total:.1f} | `{frame}` |" for frame, n in picked]
    return "\n".join(lines)


def profile_workers(server, path: str, token: str, wrk) -> str | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy not found: no profile")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        outputs = [Path(tmp) / f"{pid}.txt" for pid in server.workers()]
        spies = [
            subprocess.Popen(
                [spy, "record", "--gil", "-p", out.stem, "-d", str(SECONDS), "-r", "200", "-f", "raw", "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for out in outputs
        ]
        wrk(server.port, path, token, SECONDS)
        for spy_process in spies:
            spy_process.wait(60)
        text = summarize([out for out in outputs if out.exists()])
    print(text)
    return f"Request: `{path}`.\n\n{text}"
