"""Dagster wrappers of the run's steps: assets, the dbt assets, jobs, schedules and sensors.

Everything Dagster-specific lives here and in ``orchestrate/definitions.py``; the work itself is
done by :mod:`marketlake.orchestrate.steps`, the same functions ``marketlake run`` calls.
"""
