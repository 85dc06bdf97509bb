"""P360's benchmark harness: references and P360's endpoints measured in one run (see bench/run.py)."""
