"""gunicorn settings of P360 (read from the working directory; command-line flags win)."""

import os
import shutil
import tempfile

bind = os.environ.get("P360_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("P360_WORKERS", "2"))
# Threads: a streaming export holds one thread, not a worker, so the rest of the API keeps answering beside
# it; and the worker's main thread keeps telling the master it is alive, so an export of any length is never
# killed by the timeout, which then only catches a worker that is truly stuck. Each thread keeps its own
# database connection (workers x threads, plus one routing listener per worker: docs/operations.md).
worker_class = os.environ.get("P360_WORKER_CLASS", "gthread")
threads = int(os.environ.get("P360_THREADS", "4"))
timeout = int(os.environ.get("P360_WORKER_TIMEOUT", "120"))
graceful_timeout = 30
# No gunicorn access log: its request line carries query strings (reset tokens) and the Referer header;
# P360 logs every request itself (logger p360.access: route, status, duration, request id, tenant, user).
accesslog = None

# gunicorn's own lines in the same format as the application's (P360_LOG_FORMAT, json unless DEBUG).
_debug = os.environ.get("DJANGO_DEBUG", "").lower() in ("1", "true", "yes", "on")
_log_format = os.environ.get("P360_LOG_FORMAT", "text" if _debug else "json").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "p360": {"()": f"p360.observability.logs.{'Json' if _log_format == 'json' else 'Text'}Formatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "p360", "stream": "ext://sys.stdout"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "p360", "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error_console"], "propagate": False},  # level: --log-level
        # gunicorn writes access lines whenever a logging config is given: kept off (above), they are INFO
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}

# Metrics of all workers: prometheus_client's multiprocess mode keeps each worker's values in files under
# PROMETHEUS_MULTIPROC_DIR, summed by /metrics. Set here, before the workers start, when the operator did
# not choose a directory; emptied at start (values of an earlier run must not count), and a worker's
# live gauges dropped when it exits.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="p360-metrics-")


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for entry in os.scandir(directory):
        if entry.is_file() and entry.name.endswith(".db"):
            os.remove(entry.path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
