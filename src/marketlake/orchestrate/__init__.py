"""Orchestration: the in-process pipeline (and later Dagster definitions) - thin wrappers only."""
