"""Every model, snapshot and data test of the dbt project compiles for Snowflake offline, and
the compiled SQL is Snowflake's; a DuckDB-only construct makes the check fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketlake.config import Settings, load_settings
from tests.integration.warehouse.support import project_models, refuse_network

from .compile_offline import Compiled, compile_for_snowflake, copy_project
from .sqlcheck import snowflake_problems

pytestmark = pytest.mark.integration


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Any socket connection fails the test: compiling must never reach Snowflake."""
    refuse_network(monkeypatch)
    return monkeypatch


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    workdir = tmp_path_factory.mktemp("sf-compile")
    with pytest.MonkeyPatch.context() as patch:
        refuse_network(patch)
        return compile_for_snowflake(load_settings(data_dir=workdir), workdir, patch)


def test_every_model_snapshot_and_test_compiles_offline(compiled: Compiled) -> None:
    assert compiled.success, compiled.error
    kinds = [kind for kind, _ in compiled.nodes.values()]
    models = {uid.split(".")[-1] for uid, (kind, _) in compiled.nodes.items() if kind == "model"}
    assert models == project_models()
    assert kinds.count("snapshot") == 1
    assert kinds.count("test") > 100  # the YAML data tests, on every model
    assert all(sql.strip() for _, sql in compiled.nodes.values())


def test_compiled_sql_of_every_node_is_snowflake_sql(compiled: Compiled) -> None:
    problems = {
        uid: found for uid, (_, sql) in compiled.nodes.items() if (found := snowflake_problems(sql))
    }
    assert problems == {}


def test_snowflake_gets_its_own_macros_and_no_recursion(compiled: Compiled) -> None:
    sql = {uid.split(".")[-1]: text for uid, (_, text) in compiled.nodes.items()}
    assert "recursive" not in sql["int_daily_bars_smoothed"].lower()
    assert "lag(" in sql["int_daily_bars_smoothed"]
    weekly = sql["agg_bars_weekly"].lower()
    assert "weekiso(" in weekly
    assert "yearofweekiso(" in weekly
    assert "isoyear" not in weekly


# Reached on the other engines only: int_daily_bars_smoothed's recursion, and the schema-name
# override dbt calls while parsing (not from a node).
NOT_ON_SNOWFLAKE = {"wilder_step", "generate_schema_name"}


def test_every_macro_snowflake_dispatches_to_is_compiled(compiled: Compiled) -> None:
    reached = compiled.reached_macros()
    unreached = compiled.project_macros() - reached - NOT_ON_SNOWFLAKE
    for name in sorted(unreached):
        engine, _, base = name.partition("__")
        assert base, f"macro {name} is never compiled for Snowflake"
        # another engine's branch: Snowflake resolves the macro to its own or the default one
        assert f"snowflake__{base}" in reached or (
            engine != "default" and f"default__{base}" in reached
        ), f"{name}: no implementation of {base} was compiled for Snowflake"
    assert {"snowflake__truncate_date", "snowflake__date_spine", "smoothed_by_scan"} <= reached


PLANTED = {
    "duckdb_function": "select regexp_matches(symbol, '^A') as m from {{ ref('dim_symbol') }}",
    "duckdb_date_part": (
        "select extract(isodow from session_date) as dow from {{ ref('fct_daily_bars') }}"
    ),
    "duckdb_operator": "select symbol from {{ ref('dim_symbol') }} where symbol ~ '^A'",
    "duckdb_type": "select cast(volume as hugeint) as v from {{ ref('fct_daily_bars') }}",
}


@pytest.mark.parametrize("construct", sorted(PLANTED))
def test_a_model_with_a_duckdb_only_construct_fails_the_check(
    construct: str, tmp_path: Path, no_network: pytest.MonkeyPatch, settings: Settings
) -> None:
    project = copy_project(tmp_path / "project")
    (project / "models" / "marts" / "planted.sql").write_text(PLANTED[construct] + "\n")

    result = compile_for_snowflake(settings, tmp_path / "work", no_network, project_dir=project)

    assert result.success, result.error  # dbt compiles it: only the SQL check can tell
    planted = next(sql for uid, (_, sql) in result.nodes.items() if uid.endswith(".planted"))
    assert snowflake_problems(planted)
    others = [
        sql for uid, (k, sql) in result.nodes.items() if k == "model" and "planted" not in uid
    ]
    assert all(not snowflake_problems(sql) for sql in others)
