"""Optuna's own storage and heartbeat tests, run against search.storage's classes."""
