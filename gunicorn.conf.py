"""gunicorn settings of P360 (read from the working directory; command-line flags win)."""

import os

bind = os.environ.get("P360_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("P360_WORKERS", "2"))
# Streamed exports of large tenants outlast the default 30 s; a worker is only killed when truly stuck.
timeout = int(os.environ.get("P360_WORKER_TIMEOUT", "120"))
graceful_timeout = 30
accesslog = "-"
