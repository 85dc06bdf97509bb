"""gunicorn for benchmark runs: 2 sync workers as in production, no access log (it would be measured too)."""

workers = 2
timeout = 300
accesslog = None
errorlog = "-"
loglevel = "warning"
