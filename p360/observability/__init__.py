"""Metrics (Prometheus), structured request logs and the request context that app logs carry."""
