"""The dbt-built warehouse (gold): silver in, star-schema marts and period aggregates out.

``build_warehouse(settings)`` prepares the DuckDB file, runs the packaged dbt project
(``dbt_project/``) in-process and publishes every mart as Parquet in gold.
"""

from marketlake.warehouse.build import BuildResult, build_warehouse

__all__ = ["BuildResult", "build_warehouse"]
