"""gunicorn for benchmark runs: the production shape (2 workers of 4 threads, gunicorn.conf.py), no access log
(it would be measured too)."""

workers = 2
worker_class = "gthread"
threads = 4
timeout = 300
accesslog = None
errorlog = "-"
loglevel = "warning"
