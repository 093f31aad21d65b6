"""The Snowflake warehouse: silver loaded through an external stage with ``COPY INTO``, then dbt.

``build_snowflake(settings, dry_run=True)`` connects to nothing: it lists silver, and returns
the SQL a build would run (secrets masked) and the dbt-snowflake profile (secrets are
``env_var`` references, filled in only in the dbt process's environment). Without ``dry_run``
it needs an account (``warehouse.snowflake``) and fails with a ConfigError before any
connection when one is missing.

Incremental loading (see :mod:`marketlake.warehouse.snowflake_sql`): each loaded file is
recorded with its fingerprint (size and ETag) in ``silver._loaded_files``; a build copies the
files not loaded yet, deletes then re-copies the rows of files whose fingerprint changed (an
ingest re-processed under the same name), and deletes the rows of files gone from silver (an
ingest retracted or superseded, chunk files merged by a compaction).

Two small tables marketlake generates itself, ``silver.ingests`` (the bronze manifest) and
``silver.trading_calendar``, are written as Parquet under ``_warehouse/snowflake/`` in the lake
and replaced whole on every build.

The SQL text lives in :mod:`marketlake.warehouse.snowflake_sql`, the dbt profile and the dbt
run in :mod:`marketlake.warehouse.snowflake_dbt`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import pyarrow as pa

from marketlake.config import Settings, SnowflakeSettings
from marketlake.errors import ConfigError, WarehouseError
from marketlake.lake.compact import ingest_of, live_files, live_keys
from marketlake.lake.silver import SILVER
from marketlake.lake.store import Lake, open_lake
from marketlake.ops.ledger import LedgerRow, Run
from marketlake.warehouse import snowflake_sql as sql
from marketlake.warehouse.duckdb_target import INGESTS, SilverDataset, exposed_datasets
from marketlake.warehouse.snowflake_dbt import (
    FAILED,
    check_account,
    count_nodes,
    dbt_command,
    dbt_paths_root,
    profile_yaml,
    run_dbt_snowflake,
)
from marketlake.warehouse.trading_calendar import TRADING_CALENDAR

if TYPE_CHECKING:
    from snowflake.connector import SnowflakeConnection

log = logging.getLogger(__name__)
T = TypeVar("T")

GENERATED = "_warehouse/snowflake"  # lake folder of the tables marketlake generates
GENERATED_TABLES = {"ingests": INGESTS, "trading_calendar": TRADING_CALENDAR}


@dataclass(frozen=True)
class SilverFile:
    """One live silver file, as Snowflake loads it."""

    dataset: str
    key: str  # lake key, also the file's path in the stage (the stage is the lake root)
    fingerprint: str  # size and ETag (S3) or inode and mtime (local): changes when rewritten

    @property
    def relative(self) -> str:
        """The key below ``silver/<dataset>/``, as COPY's FILES list names it."""
        return self.key.removeprefix(f"{SILVER}/{self.dataset}/")


@dataclass(frozen=True)
class LoadPlan:
    """The statements of one load, in order (the stage's secret masked)."""

    setup: list[str]
    silver: list[str]
    generated: list[str]
    files_new: int = 0
    files_reloaded: int = 0
    files_removed: int = 0
    ingests: dict[str, list[str]] = field(default_factory=dict)  # dataset -> ingests touched

    @property
    def statements(self) -> list[str]:
        """Every statement, in execution order."""
        return [*self.setup, *self.silver, *self.generated]

    def script(self) -> str:
        """The statements as one SQL script."""
        return "".join(f"{statement};\n\n" for statement in self.statements)


@dataclass(frozen=True)
class SnowflakeBuildResult:
    """What one Snowflake build did, or would do (``dry_run``)."""

    dry_run: bool
    sql: str  # the load SQL, secrets masked
    profile: str  # the dbt-snowflake profiles.yml, secrets as env_var references
    dbt_command: list[str]
    files_new: int
    files_reloaded: int
    files_removed: int
    models_built: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    nodes_failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def dry_run_text(self) -> str:
        """What ``build --target snowflake --dry-run`` prints."""
        return (
            "-- SQL run on Snowflake before dbt (secrets masked)\n\n"
            f"{self.sql}"
            "-- dbt-snowflake profile (profiles.yml; secrets come from the environment)\n\n"
            f"{self.profile}\n"
            f"-- then: dbt {' '.join(self.dbt_command)}\n"
        )


def build_snowflake(
    settings: Settings, *, dry_run: bool, run: Run | None = None
) -> SnowflakeBuildResult:
    """Load silver into Snowflake with ``COPY INTO`` and build the dbt project there.

    Args:
        settings: The lake and ``warehouse.snowflake``.
        dry_run: Connect to nothing: return the SQL and the dbt profile a build would use
            (everything as if the warehouse were empty; a real build skips loaded files).
        run: When given (and not a dry run), a ledger row for the "load" and "build" steps.

    Returns:
        The SQL (masked), the profile, and what was (or would be) loaded and built.

    Raises:
        ConfigError: the lake is not on S3 and no stage URL is set, the stage has no way to
            read the bucket, or (not a dry run) the account settings are incomplete.
        WarehouseError: Snowflake refused a statement, or a dbt node failed.
    """
    start = time.perf_counter()
    sf = settings.warehouse.snowflake
    lake = open_lake(settings)
    files = list_silver(lake)
    command = dbt_command(settings)
    if dry_run:
        plan = plan_load(settings, files, loaded={})
        return SnowflakeBuildResult(
            dry_run=True,
            sql=plan.script(),
            profile=profile_yaml(settings, placeholders=True),
            dbt_command=command,
            files_new=plan.files_new,
            files_reloaded=plan.files_reloaded,
            files_removed=plan.files_removed,
        )
    check_account(sf)
    with _step(run, "load", f"snowflake:{sf.database}.{sql.SILVER_SCHEMA}") as row:
        con = _connect(sf)
        try:
            plan = _load(con, settings, lake, files)
        finally:
            con.close()
        if row is not None:
            row.rows_out = plan.files_new + plan.files_reloaded
            row.details.update(
                {
                    "files_new": plan.files_new,
                    "files_reloaded": plan.files_reloaded,
                    "files_removed": plan.files_removed,
                }
            )
    with _step(run, "build", "dbt:snowflake") as row:
        nodes = run_dbt_snowflake(settings, command)
        failed = [f"{n['name']}: {n['message']}" for n in nodes if n["status"] in FAILED]
        result = SnowflakeBuildResult(
            dry_run=False,
            sql=plan.script(),
            profile=profile_yaml(settings),
            dbt_command=command,
            files_new=plan.files_new,
            files_reloaded=plan.files_reloaded,
            files_removed=plan.files_removed,
            models_built=count_nodes(nodes, "model", "success"),
            tests_passed=count_nodes(nodes, "test", "pass"),
            tests_failed=count_nodes(nodes, "test", "fail", "error"),
            nodes_failed=failed,
            seconds=round(time.perf_counter() - start, 3),
        )
        if row is not None:
            row.rows_out = result.models_built
            row.details.update({"models_built": result.models_built, "failed": len(failed)})
        if failed:
            raise WarehouseError(
                f"dbt build on Snowflake failed: {len(failed)} node(s): " + "; ".join(failed),
                hint=f"fix the data or the model; see the dbt log in {dbt_paths_root(settings)}",
            )
    return result


def list_silver(lake: Lake) -> dict[str, list[SilverFile]]:
    """The live files of every silver dataset the warehouse reads (a consistent snapshot)."""
    found: dict[str, list[SilverFile]] = {}
    for dataset in exposed_datasets():
        # The folders holding files, at whatever depth the dataset partitions them.
        folders = sorted({key.rsplit("/", 1)[0] for key in live_keys(lake, dataset.name)})
        found[dataset.name] = [
            SilverFile(dataset.name, key, f"{size}:{version}")
            for key, size, version in (live_files(lake, dataset.name, folders) if folders else [])
        ]
    return found


def plan_load(
    settings: Settings,
    files: dict[str, list[SilverFile]],
    *,
    loaded: dict[tuple[str, str], str],
) -> LoadPlan:
    """The statements that bring Snowflake's silver tables to the live silver files.

    Args:
        settings: ``warehouse.snowflake`` (names, stage) and the lake (stage URL, keys).
        files: The live files per dataset (:func:`list_silver`).
        loaded: (dataset, key) -> fingerprint of the files loaded earlier
            (``silver._loaded_files``); empty for a new warehouse or a dry run.

    Returns:
        Setup, per-dataset load transactions, and the replacement of the generated tables.

    Raises:
        ConfigError: no S3 location or no credentials for the stage.
    """
    sf = settings.warehouse.snowflake
    db = sf.database
    datasets = exposed_datasets()
    setup = [
        sql.create_schema_sql(db),
        sql.create_file_format_sql(db, sf.file_format),
        stage_sql(settings, reveal=False),
        sql.create_loaded_files_sql(db),
        *(
            sql.create_table_sql(db, d.name, _table_schema(d), not_null=not d.fill_missing)
            for d in datasets
        ),
        *(sql.create_table_sql(db, name, schema) for name, schema in GENERATED_TABLES.items()),
    ]
    silver: list[str] = []
    counts = {"new": 0, "reloaded": 0, "removed": 0}
    ingests: dict[str, list[str]] = {}
    for dataset in datasets:
        live = {f.key: f for f in files.get(dataset.name, [])}
        before = {key: fp for (name, key), fp in loaded.items() if name == dataset.name}
        new = [live[k] for k in sorted(live) if k not in before]
        changed = [
            live[k] for k in sorted(live) if k in before and before[k] != live[k].fingerprint
        ]
        gone = sorted(k for k in before if k not in live)
        if not (new or changed or gone):
            continue
        counts["new"] += len(new)
        counts["reloaded"] += len(changed)
        counts["removed"] += len(gone)
        ingests[dataset.name] = sorted(
            {ingest_of(f.key) for f in [*new, *changed]} | {ingest_of(k) for k in gone}
        )
        silver.extend(_dataset_load(db, sf, dataset.name, new=new, changed=changed, gone=gone))
    generated = [
        statement
        for name in GENERATED_TABLES
        for statement in (
            "begin transaction",
            f"delete from {sql.qualified(db, name)}",  # DML: undone with the transaction
            sql.copy_sql(
                db,
                name,
                stage=sf.stage_name,
                folder=GENERATED,
                files=[f"{name}.parquet"],
                file_format=sf.file_format,
            ),
            "commit",
        )
    ]
    return LoadPlan(
        setup=setup,
        silver=silver,
        generated=generated,
        files_new=counts["new"],
        files_reloaded=counts["reloaded"],
        files_removed=counts["removed"],
        ingests=ingests,
    )


def _dataset_load(
    db: str,
    sf: SnowflakeSettings,
    dataset: str,
    *,
    new: list[SilverFile],
    changed: list[SilverFile],
    gone: list[str],
) -> list[str]:
    """One transaction: delete replaced and vanished files' rows, copy, record."""
    statements = ["begin transaction"]
    stale = [f.key for f in changed] + gone
    for keys in _chunks(stale):
        statements.append(sql.delete_files_sql(db, dataset, keys))
    for keys in _chunks(gone):
        statements.append(sql.forget_loaded_sql(db, dataset, keys))
    copied = [*new, *changed]
    for part in _chunks(copied):
        statements.append(
            sql.copy_sql(
                db,
                dataset,
                stage=sf.stage_name,
                folder=f"{SILVER}/{dataset}",
                files=[f.relative for f in part],
                file_format=sf.file_format,
            )
        )
        statements.append(
            sql.record_loaded_sql(db, dataset, [(f.key, f.fingerprint) for f in part])
        )
    statements.append("commit")
    return statements


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), sql.MAX_COPY_FILES):
        yield items[i : i + sql.MAX_COPY_FILES]


def _table_schema(dataset: SilverDataset) -> pa.Schema:
    if dataset.schema is None:  # every exposed dataset has one today
        raise ValueError(f"silver {dataset.name} has no canonical schema")
    return dataset.schema


def stage_sql(settings: Settings, *, reveal: bool) -> str:
    """The ``create stage`` statement over the lake root (secret masked unless ``reveal``).

    Raises:
        ConfigError: no S3 location, or no storage integration and no key pair.
    """
    sf = settings.warehouse.snowflake
    url = sf.stage_url or settings.lake_uri
    if not url.startswith("s3://"):
        raise ConfigError(
            f"Snowflake reads silver through an external stage on S3, and the lake is {url}",
            hint="put the lake on S3 (lake.uri: s3://bucket/prefix) or set "
            "warehouse.snowflake.stage_url to an s3:// copy of it",
        )
    endpoint = None
    if settings.lake.endpoint_url and not sf.stage_url:
        # S3-compatible storage that is not AWS: Snowflake's s3compat:// stages
        endpoint = urlsplit(settings.lake.endpoint_url).netloc or settings.lake.endpoint_url
        url = "s3compat://" + url.removeprefix("s3://")
    key_id = sf.aws_key_id or settings.lake.access_key_id
    secret = sf.aws_secret_key or settings.lake.secret_access_key
    if not sf.storage_integration and not (key_id and secret):
        raise ConfigError(
            "the Snowflake stage has no way to read the bucket",
            hint="set warehouse.snowflake.storage_integration, or aws_key_id and aws_secret_key "
            "(or the lake's access keys)",
        )
    credentials = sql.StageCredentials(
        storage_integration=sf.storage_integration,
        aws_key_id=key_id,
        aws_secret_key=secret.get_secret_value() if secret and reveal else None,
    )
    return sql.create_stage_sql(
        sf.database,
        stage=sf.stage_name,
        url=url.rstrip("/") + "/",
        file_format=sf.file_format,
        credentials=credentials,
        endpoint=endpoint,
        reveal=reveal,
    )


def _connect(sf: SnowflakeSettings) -> SnowflakeConnection:
    """Open a connection (the secrets revealed only here).

    Raises:
        WarehouseError: Snowflake refused the login or could not be reached.
    """
    import snowflake.connector

    options: dict[str, Any] = {
        "account": sf.account,
        "user": sf.user,
        "warehouse": sf.warehouse,
        "database": sf.database,
        "login_timeout": sf.connect_timeout_s,
        "session_parameters": {"QUERY_TAG": "marketlake", "TIMEZONE": "UTC"},
    }
    if sf.role:
        options["role"] = sf.role
    if sf.host:
        options["host"] = sf.host
    if sf.port:
        options["port"] = sf.port
    if sf.private_key_path:
        options["private_key_file"] = sf.private_key_path
        if sf.private_key_passphrase is not None:
            options["private_key_file_pwd"] = sf.private_key_passphrase.get_secret_value()
    elif sf.password is not None:
        options["password"] = sf.password.get_secret_value()
    try:
        return snowflake.connector.connect(**options)
    except snowflake.connector.errors.Error as exc:
        raise WarehouseError(
            f"cannot connect to Snowflake account {sf.account}: {exc.msg or type(exc).__name__}",
            hint="check warehouse.snowflake (account, user, credentials, role, warehouse)",
        ) from exc


def _load(
    con: SnowflakeConnection, settings: Settings, lake: Lake, files: dict[str, list[SilverFile]]
) -> LoadPlan:
    """Run the setup, load silver incrementally, then replace the generated tables."""
    sf = settings.warehouse.snowflake
    empty = plan_load(settings, files, loaded={})
    masked_stage = stage_sql(settings, reveal=False)
    for statement in empty.setup:
        _execute(con, stage_sql(settings, reveal=True) if statement == masked_stage else statement)
    rows = _execute(con, sql.loaded_files_query(sf.database))
    loaded = {(str(r[0]), str(r[1])): str(r[2]) for r in rows}
    plan = plan_load(settings, files, loaded=loaded)
    for statement in plan.silver:
        _execute(con, statement)
    _write_generated(con, settings, lake)
    for statement in plan.generated:
        _execute(con, statement)
    log.info(
        "snowflake silver: %d files new, %d reloaded, %d removed",
        plan.files_new,
        plan.files_reloaded,
        plan.files_removed,
    )
    return plan


def _write_generated(con: SnowflakeConnection, settings: Settings, lake: Lake) -> None:
    """Write silver.ingests and silver.trading_calendar as Parquet in the lake, for COPY."""
    from marketlake.warehouse.duckdb_target import ingests_table
    from marketlake.warehouse.trading_calendar import calendar_around

    lake.write_parquet(f"{GENERATED}/ingests.parquet", ingests_table(lake))
    bars = sql.qualified(settings.warehouse.snowflake.database, "bars")
    bounds = _execute(con, f"select min(session_date), max(session_date) from {bars}")
    first, last = bounds[0] if bounds else (None, None)
    calendar = calendar_around(settings.warehouse.gold.calendar, first, last)
    lake.write_parquet(f"{GENERATED}/trading_calendar.parquet", calendar)


def _execute(con: SnowflakeConnection, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement; a refusal names the statement's first line (never its secrets)."""
    import snowflake.connector

    cursor = con.cursor()
    try:
        cursor.execute(statement)
        return list(cursor.fetchall()) if cursor.description else []
    except snowflake.connector.errors.Error as exc:
        first = statement.split("\n", 1)[0].split(" url = ", 1)[0]
        raise WarehouseError(
            f"Snowflake refused a statement: {exc.msg or type(exc).__name__}",
            hint="check the role's privileges on the database, stage and warehouse",
            statement=first,
        ) from exc
    finally:
        cursor.close()


@contextmanager
def _step(run: Run | None, step: str, target: str) -> Iterator[LedgerRow | None]:
    if run is None:
        yield None
        return
    with run.step(step, target) as row:
        yield row
