"""Daily bars per contract from silver trades: one streaming DuckDB pass, cached per root.

Reads ``silver/trades/symbol=<root or contract>/year=*/``: DuckDB streams the Parquet files and
aggregates them to daily bars per (symbol, source, session) in one pass (the trades of a root
can be ~20 GB: they are never loaded). Sessions come from a small per-UTC-day table joined by
equality (see :meth:`Sessions.day_table`), so no sort of the trades is needed.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING
from urllib.parse import unquote

import polars as pl

from marketlake.bars.continuous import DAILY_COLUMNS
from marketlake.bars.contracts import ContractSpec, Sessions, split_code
from marketlake.config import Settings
from marketlake.errors import LakeError
from marketlake.lake import Lake
from marketlake.lake.silver import SILVER

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

DERIVED_PREFIX = "silver/_derived"

# Open/close are the first/last trade by time; trades at the same nanosecond are ordered by
# `sequence`, or by their row in the silver file when the source has none. One 128-bit key
# (ns * 2^64 + order) costs little more than ordering by time alone; a struct key costs 3x.
DAILY_SQL = """
with trades as (
    select
        symbol,
        source,
        epoch_ns(ts_event) as ns,
        price,
        size,
        coalesce(sequence, file_row_number) as seq
    from read_parquet($files, file_row_number = true)
),
sessions as (
    select
        trades.*,
        trades.ns::hugeint * 18446744073709551616 + trades.seq as ord,
        case when trades.ns < days.cut then days.before else days.after end as session_date
    from trades
    left join days
        on days.day = (case when trades.ns >= 0 then trades.ns // 86400000000000
                            else (trades.ns + 1) // 86400000000000 - 1 end)
)
select
    symbol,
    source,
    session_date,
    arg_min(price, ord) as open,
    max(price) as high,
    min(price) as low,
    arg_max(price, ord) as close,
    sum(size) as volume,
    count(*) as trade_count
from sessions
group by symbol, source, session_date
order by symbol, source, session_date
"""


def build_id(*parts: str) -> str:
    """A stable id of one build variant (names its files)."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def find_trade_files(lake: Lake, spec: ContractSpec) -> tuple[dict[str, str], list[str]]:
    """Silver trade files of a root and of its contracts, and the other symbols seen.

    Only partitions named after the root (``symbol=ES``) or one of its contract codes are read;
    other symbols sharing the prefix (``ESTX50``, a spread) are returned as ignored.

    Returns:
        Lake key -> a stamp of the file's version (size and modification time), and the
        ignored symbols.
    """
    pattern = f"{SILVER}/trades/symbol={spec.root}*/year=*/*.parquet"
    found = lake.fs.glob(lake.full(pattern), detail=True)
    files: dict[str, str] = {}
    ignored: set[str] = set()
    for path, info in found.items():
        tail = str(path).rsplit(f"/{SILVER}/trades/", 1)[-1]
        if "/.tmp-" in f"/{tail}":
            continue
        symbol = unquote(tail.split("/")[0].removeprefix("symbol="))
        if symbol == spec.root or split_code(symbol, spec) is not None:
            modified = info.get("mtime", info.get("LastModified", ""))
            files[f"{SILVER}/trades/{tail}"] = f"{info.get('size')}:{modified}"
        else:
            ignored.add(symbol)
    return dict(sorted(files.items())), sorted(ignored)


def _cache_key(root: str, ident: str) -> str:
    return f"{DERIVED_PREFIX}/cache/continuous_daily/{root}/{ident}.parquet"


def daily_bars(
    lake: Lake,
    files: dict[str, str],
    sessions: Sessions,
    settings: Settings,
    *,
    root: str,
    recompute: bool,
) -> pl.DataFrame:
    """Daily bars of the root's trade files, from a cache while the files are unchanged.

    The scan of the trades is the only expensive step, so its result is kept (one cache per
    root, keyed by the files' versions and the calendar) and another roll rule or adjustment of
    the same trades costs seconds.
    """
    ident = build_id("daily", root, sessions.name, *(f"{k}|{v}" for k, v in files.items()))
    key = _cache_key(root, ident)
    if not recompute and lake.exists(key):
        frame = pl.from_arrow(lake.read_parquet(key))
        assert isinstance(frame, pl.DataFrame)
        log.info("daily bars of %s from cache", root, extra={"cache": key})
        return frame
    daily = aggregate_daily(lake, list(files), sessions, settings)
    lake.write_parquet(key, daily.to_arrow())
    for old in lake.glob(_cache_key(root, "*")):
        if old != key:
            lake.remove(old)
    return daily


def partition_years(keys: list[str]) -> list[int]:
    """The ``year=`` partitions of silver keys, sorted."""
    return sorted({int(k.split("/")[3].removeprefix("year=")) for k in keys})


def _connect(lake: Lake, settings: Settings) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(
        config={
            "threads": settings.warehouse.duckdb.threads,
            "memory_limit": settings.warehouse.duckdb.memory_limit,
            "temp_directory": str(settings.state_dir / "duckdb_tmp"),
        }
    )
    con.execute("set enable_progress_bar = false")  # a library must not draw on the terminal
    if not lake.is_local:
        # object-store lakes are read through the lake's own fsspec filesystem
        con.register_filesystem(lake.fs)
    return con


def aggregate_daily(
    lake: Lake, keys: list[str], sessions: Sessions, settings: Settings
) -> pl.DataFrame:
    """Daily bars per (symbol, source, session) of the trades in ``keys`` (one streaming pass).

    Trades outside the calendar get a null ``session_date``.
    """
    con = _connect(lake, settings)
    try:
        con.register("days", sessions.day_table())
        files = [lake.url(k) for k in keys]
        table = con.sql(DAILY_SQL, params={"files": files}).to_arrow_table()
    except Exception as exc:
        import duckdb

        if not isinstance(exc, duckdb.Error):
            raise
        raise LakeError(
            f"cannot read silver trades: {str(exc).splitlines()[0]}",
            path=lake.url(keys[0].rsplit("/", 3)[0]),
            hint="re-run the ingest that wrote these trades; see `marketlake status`",
        ) from exc
    finally:
        con.close()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.select(DAILY_COLUMNS)
