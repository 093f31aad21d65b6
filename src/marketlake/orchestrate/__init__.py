"""Orchestration, thin wrappers only: the steps of a run (``steps``, ``graph``), the in-process
runner of ``marketlake run`` (``runner``), the demo as a run, and the Dagster definitions
(``definitions``, ``dagster/``) over the same steps."""
