"""Is this SQL Snowflake's? sqlglot parses leniently (an unknown function is just a name, a
DuckDB-only clause often still parses), so on top of the parse this checks what sqlglot lets
through: functions it does not know, date parts and types Snowflake lacks, DuckDB-only nodes."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

# Snowflake built-ins sqlglot parses as unknown (Anonymous) functions; add one only after
# checking Snowflake's function reference.
SNOWFLAKE_FUNCTIONS: frozenset[str] = frozenset()

# DATE_PART / EXTRACT parts Snowflake accepts (its reference, "Supported date and time parts").
DATE_PARTS = frozenset(
    {
        "year",
        "y",
        "yy",
        "yyy",
        "yyyy",
        "yr",
        "years",
        "yrs",
        "month",
        "mm",
        "mon",
        "mons",
        "months",
        "day",
        "d",
        "dd",
        "days",
        "dayofmonth",
        "dayofweek",
        "weekday",
        "dow",
        "dw",
        "dayofweekiso",
        "weekday_iso",
        "dow_iso",
        "dw_iso",
        "dayofyear",
        "yearday",
        "doy",
        "dy",
        "week",
        "w",
        "wk",
        "weekofyear",
        "woy",
        "wy",
        "weekiso",
        "week_iso",
        "weekofyeariso",
        "weekofyear_iso",
        "quarter",
        "q",
        "qtr",
        "qtrs",
        "quarters",
        "yearofweek",
        "yearofweekiso",
        "hour",
        "h",
        "hh",
        "hr",
        "hours",
        "hrs",
        "minute",
        "m",
        "mi",
        "min",
        "minutes",
        "mins",
        "second",
        "s",
        "sec",
        "seconds",
        "secs",
        "millisecond",
        "ms",
        "msec",
        "milliseconds",
        "microsecond",
        "us",
        "usec",
        "microseconds",
        "nanosecond",
        "ns",
        "nsec",
        "nanosec",
        "nsecond",
        "nanoseconds",
        "nanosecs",
        "epoch_second",
        "epoch",
        "epoch_seconds",
        "epoch_millisecond",
        "epoch_milliseconds",
        "epoch_microsecond",
        "epoch_microseconds",
        "epoch_nanosecond",
        "epoch_nanoseconds",
        "timezone_hour",
        "tzh",
        "timezone_minute",
        "tzm",
    }
)

T = exp.DataType.Type
# Column types Snowflake has (sqlglot's names for them).
SNOWFLAKE_TYPES = frozenset(
    {
        T.VARCHAR,
        T.CHAR,
        T.TEXT,
        T.BINARY,
        T.VARBINARY,
        T.BOOLEAN,
        T.TINYINT,
        T.SMALLINT,
        T.INT,
        T.BIGINT,
        T.DECIMAL,
        T.FLOAT,
        T.DOUBLE,
        T.DATE,
        T.TIME,
        T.DATETIME,
        T.TIMESTAMP,
        T.TIMESTAMPTZ,
        T.TIMESTAMPLTZ,
        T.TIMESTAMPNTZ,
        T.VARIANT,
        T.OBJECT,
        T.ARRAY,
        T.GEOGRAPHY,
        T.GEOMETRY,
    }
)

# Nodes sqlglot parses in any dialect but Snowflake SQL has no form of.
DUCKDB_ONLY = (exp.Comprehension, exp.ReadParquet, exp.ReadCSV)


def snowflake_problems(sql: str) -> list[str]:
    """What keeps ``sql`` (one or more statements) from running on Snowflake; empty if nothing.

    Every statement must parse in the Snowflake dialect with errors raised, be a statement
    sqlglot understands (not an opaque command), call only functions sqlglot knows or
    :data:`SNOWFLAKE_FUNCTIONS`, and use only Snowflake's date parts and types.
    """
    try:
        trees = sqlglot.parse(sql, read="snowflake", error_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        return [f"does not parse as Snowflake SQL: {str(exc).splitlines()[0]}"]
    problems: list[str] = []
    for tree in trees:
        if tree is None:
            continue
        if isinstance(tree, exp.Command):
            problems.append(f"not a statement sqlglot understands: {tree.sql()[:60]}")
        for func in tree.find_all(exp.Anonymous):
            if func.name.lower() not in SNOWFLAKE_FUNCTIONS:
                problems.append(f"function {func.name} is not a Snowflake function")
        for extract in tree.find_all(exp.Extract):
            part = extract.this.name.lower()
            if part not in DATE_PARTS:
                problems.append(f"date part {part} does not exist on Snowflake")
        for data_type in tree.find_all(exp.DataType):
            if data_type.this not in SNOWFLAKE_TYPES and data_type.this != T.UNKNOWN:
                problems.append(f"type {data_type.sql('snowflake')} does not exist on Snowflake")
        for node in tree.find_all(*DUCKDB_ONLY):
            problems.append(f"{type(node).__name__} has no Snowflake form")
    return problems
