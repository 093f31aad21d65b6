"""Helpers of the warehouse tests."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from marketlake.config import Settings, load_settings


def make_settings(data_dir: Path) -> Settings:
    """Settings rooted in ``data_dir``."""
    return load_settings(data_dir=data_dir)


def read_table(settings: Settings, name: str) -> pl.DataFrame:
    """A table of the built warehouse (``marts.fct_daily_bars``), read-only."""
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        return con.sql(f"select * from {name}").pl()
    finally:
        con.close()


def refuse_network(patch: pytest.MonkeyPatch) -> None:
    """Make every attempt to open a network connection fail the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    patch.setattr(socket.socket, "connect", refuse)
    patch.setattr(socket, "create_connection", refuse)


def project_models(folder: str = "") -> set[str]:
    """Names of the dbt models whose SQL lives under ``models/<folder>`` of the shipped project."""
    from marketlake.warehouse.dbt_runner import PROJECT_DIR

    return {p.stem for p in (PROJECT_DIR / "models" / folder).rglob("*.sql")}


def project_unit_tests() -> int:
    """How many dbt unit tests the project's YAML files declare."""
    import yaml

    from marketlake.warehouse.dbt_runner import PROJECT_DIR

    return sum(
        len((yaml.safe_load(p.read_text()) or {}).get("unit_tests", []))
        for p in (PROJECT_DIR / "models").rglob("*.yml")
    )
