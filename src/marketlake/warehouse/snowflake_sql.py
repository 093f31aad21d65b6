"""The SQL marketlake runs on Snowflake to load silver: pure text generation, no connection.

Silver reaches Snowflake as Parquet through an external stage on the lake's bucket:

- ``create schema``, ``create file format ... type = parquet`` and ``create stage ... url =``
  (a storage integration, or an AWS key pair in ``credentials``, masked unless revealed);
- ``create table if not exists silver.<dataset>`` with the columns of
  :mod:`marketlake.schemas` in Snowflake types, plus ``_source_file`` (the staged file each row
  came from, filled by ``include_metadata``);
- per dataset and load: ``delete`` the rows of re-processed and vanished files, ``copy into``
  the new and re-processed ones (``match_by_column_name``), and record each loaded file with its
  fingerprint in ``silver._loaded_files`` -- all in one transaction.

Files are the unit of replacement: silver files are named by ingest id
(``<ingest_id>.parquet``, ``<ingest_id>-<chunk>.parquet``, ``<ingest_id>-compact-<hash>.parquet``),
so re-processing an ingest rewrites or removes exactly its own files, and a compaction swaps an
ingest's chunk files for one merged file; deleting by ``_source_file`` then copying the live
files replaces exactly that ingest's rows, whatever the dataset's columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa

SILVER_SCHEMA = "silver"
SOURCE_FILE_COLUMN = "_source_file"
LOADED_FILES = "_loaded_files"
MASK = "**********"
# Snowflake accepts at most 1,000 names in one COPY's FILES list.
MAX_COPY_FILES = 1_000


@dataclass(frozen=True)
class StageCredentials:
    """How the external stage reads the bucket: a storage integration or an AWS key pair."""

    storage_integration: str | None = None
    aws_key_id: str | None = None
    aws_secret_key: str | None = None  # revealed text; masked unless asked for


def quote_literal(text: str) -> str:
    """A SQL string literal (Snowflake: backslashes escaped, quotes doubled)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def snowflake_type(arrow_type: pa.DataType) -> str:
    """The Snowflake column type of an Arrow type of the silver schemas.

    Raises:
        ValueError: a type no silver schema uses.
    """
    if pa.types.is_timestamp(arrow_type):
        precision = {"s": 0, "ms": 3, "us": 6, "ns": 9}[arrow_type.unit]
        return f"timestamp_tz({precision})" if arrow_type.tz else f"timestamp_ntz({precision})"
    checks = [
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "number(38, 0)"),
        (pa.types.is_floating, "double"),
        (pa.types.is_date, "date"),
        (pa.types.is_string, "varchar"),
        (pa.types.is_large_string, "varchar"),
        (pa.types.is_list, "array"),
        (pa.types.is_struct, "object"),
    ]
    for check, name in checks:
        if check(arrow_type):
            return name
    raise ValueError(f"no Snowflake type for Arrow type {arrow_type}")


def qualified(database: str, name: str, schema: str = SILVER_SCHEMA) -> str:
    """``<database>.<schema>.<name>``."""
    return f"{database}.{schema}.{name}"


def create_schema_sql(database: str) -> str:
    """The silver schema dbt's sources read."""
    return f"create schema if not exists {database}.{SILVER_SCHEMA}"


def create_file_format_sql(database: str, file_format: str) -> str:
    """The named Parquet file format (logical types: timestamps and dates load as such)."""
    return (
        f"create or replace file format {qualified(database, file_format)} "
        "type = parquet use_logical_type = true binary_as_text = true"
    )


def create_stage_sql(
    database: str,
    *,
    stage: str,
    url: str,
    file_format: str,
    credentials: StageCredentials,
    endpoint: str | None = None,
    reveal: bool = False,
) -> str:
    """The external stage over the lake root.

    Args:
        database: The database.
        stage: The stage's name.
        url: ``s3://bucket/prefix/`` of the lake root (``s3compat://`` with ``endpoint``).
        file_format: The named file format.
        credentials: A storage integration, or a key pair.
        endpoint: Host (and port) of S3-compatible storage that is not AWS.
        reveal: Put the secret key in the text (only for execution, never for display).

    Returns:
        One ``create or replace stage`` statement.
    """
    parts = [f"create or replace stage {qualified(database, stage)} url = {quote_literal(url)}"]
    if endpoint:
        parts.append(f"endpoint = {quote_literal(endpoint)}")
    if credentials.storage_integration:
        parts.append(f"storage_integration = {credentials.storage_integration}")
    elif credentials.aws_key_id:
        secret = credentials.aws_secret_key if reveal else MASK
        parts.append(
            f"credentials = (aws_key_id = {quote_literal(credentials.aws_key_id)} "
            f"aws_secret_key = {quote_literal(secret or '')})"
        )
    parts.append(f"file_format = (format_name = {qualified(database, file_format)})")
    return " ".join(parts)


def create_table_sql(database: str, table: str, schema: pa.Schema, *, not_null: bool = True) -> str:
    """``create table if not exists`` of a silver dataset, plus the source-file column.

    Args:
        database: The database.
        table: The table's name in the silver schema.
        schema: Its canonical columns.
        not_null: Declare the schema's non-nullable columns ``not null``; False for datasets
            whose older files may lack a column (COPY leaves it null).
    """
    columns = [
        f"{f.name} {snowflake_type(f.type)}{' not null' if not_null and not f.nullable else ''}"
        for f in schema
    ]
    columns.append(f"{SOURCE_FILE_COLUMN} varchar")
    body = ",\n    ".join(columns)
    return f"create table if not exists {qualified(database, table)} (\n    {body}\n)"


def create_loaded_files_sql(database: str) -> str:
    """The table recording which staged file was loaded with which fingerprint."""
    return (
        f"create table if not exists {qualified(database, LOADED_FILES)} (\n"
        "    dataset varchar not null,\n"
        "    file_key varchar not null,\n"
        "    fingerprint varchar not null,\n"
        "    loaded_at timestamp_tz not null\n"
        ")"
    )


def delete_files_sql(database: str, table: str, keys: Sequence[str]) -> str:
    """Remove the rows loaded from these staged files."""
    listed = ", ".join(quote_literal(k) for k in keys)
    return f"delete from {qualified(database, table)} where {SOURCE_FILE_COLUMN} in ({listed})"


def copy_sql(
    database: str,
    table: str,
    *,
    stage: str,
    folder: str,
    files: Sequence[str],
    file_format: str,
) -> str:
    """``copy into`` one silver table from named files of the stage.

    Args:
        database: The database.
        table: The silver table.
        stage: The stage (over the lake root).
        folder: Lake folder of the files, ``silver/<dataset>``.
        files: Their keys relative to ``folder`` (at most :data:`MAX_COPY_FILES`).
        file_format: The named Parquet file format.

    Returns:
        One statement; ``force = true`` because a re-processed file keeps its name (its rows
        were deleted first), which Snowflake's own load history would otherwise skip.
    """
    if len(files) > MAX_COPY_FILES:
        raise ValueError(f"at most {MAX_COPY_FILES} files per COPY, got {len(files)}")
    listed = ", ".join(quote_literal(f) for f in files)
    return (
        f"copy into {qualified(database, table)}\n"
        f"from @{qualified(database, stage)}/{folder.strip('/')}/\n"
        f"files = ({listed})\n"
        f"file_format = (format_name = {qualified(database, file_format)})\n"
        "match_by_column_name = case_insensitive\n"
        f"include_metadata = ({SOURCE_FILE_COLUMN} = metadata$filename)\n"
        "on_error = abort_statement\n"
        "force = true"
    )


def record_loaded_sql(database: str, dataset: str, files: Iterable[tuple[str, str]]) -> str:
    """Record (key, fingerprint) of files just loaded, replacing earlier fingerprints."""
    rows = ", ".join(
        f"({quote_literal(dataset)}, {quote_literal(key)}, {quote_literal(fingerprint)})"
        for key, fingerprint in files
    )
    target = qualified(database, LOADED_FILES)
    return (
        f"merge into {target} as loaded\n"
        "using (\n"
        "    select column1 as dataset, column2 as file_key, column3 as fingerprint\n"
        f"    from (values {rows})\n"
        ") as done\n"
        "on loaded.dataset = done.dataset and loaded.file_key = done.file_key\n"
        "when matched then update set\n"
        "    fingerprint = done.fingerprint, loaded_at = current_timestamp()\n"
        "when not matched then insert (dataset, file_key, fingerprint, loaded_at)\n"
        "    values (done.dataset, done.file_key, done.fingerprint, current_timestamp())"
    )


def forget_loaded_sql(database: str, dataset: str, keys: Sequence[str]) -> str:
    """Drop the records of files that are no longer in silver."""
    listed = ", ".join(quote_literal(k) for k in keys)
    return (
        f"delete from {qualified(database, LOADED_FILES)} "
        f"where dataset = {quote_literal(dataset)} and file_key in ({listed})"
    )


def loaded_files_query(database: str) -> str:
    """The files loaded so far: (dataset, file_key, fingerprint)."""
    return f"select dataset, file_key, fingerprint from {qualified(database, LOADED_FILES)}"
