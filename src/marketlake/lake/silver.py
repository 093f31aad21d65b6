"""Silver: validated, canonical Parquet, hive-partitioned by ``symbol=`` and ``year=``.

Layout::

    silver/<dataset>/symbol=<S>/year=<Y>/<ingest_id>.parquet  one delivery's rows in one partition
    silver/_quarantine/<dataset>/<ingest_id>.parquet          the rows it lost, with reasons
    silver/_ingests/<ingest_id>.json                           what publishing it produced

A file is named by its ingest id, so publishing an ingest again replaces exactly its own rows
(each file is replaced atomically, stale partitions are removed), and the ``_ingests`` record is
written last: an ingest without a record was interrupted and is processed again.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import polars as pl
import pyarrow as pa

from marketlake.lake.store import Lake
from marketlake.schemas import QUARANTINE, schema_of

log = logging.getLogger(__name__)

SILVER = "silver"
QUARANTINE_PREFIX = "silver/_quarantine"
RECORD_PREFIX = "silver/_ingests"


@dataclass(frozen=True)
class IngestRecord:
    """What publishing one ingest into silver produced."""

    ingest_id: str
    dataset: str
    source: str
    rows_in: int
    rows_out: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    flagged_by_rule: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)
    published_at: str = ""
    # The symbols published when only some of a many-symbol delivery were asked for; None: all.
    symbols: list[str] | None = None


def partition_dir(dataset: str, symbol: str, year: int) -> str:
    """The lake key of one partition; symbols are percent-encoded (``X:BTCUSD``: ``X%3ABTCUSD``)."""
    return f"{SILVER}/{dataset}/symbol={quote(symbol, safe='')}/year={year}"


def dataset_glob(lake: Lake, dataset: str) -> str:
    """A glob URL of every Parquet file of a dataset (for DuckDB and Polars)."""
    return lake.url(f"{SILVER}/{dataset}/*/*/*.parquet")


def record_key(ingest_id: str) -> str:
    """Where the record of a published ingest lives."""
    return f"{RECORD_PREFIX}/{ingest_id}.json"


def quarantine_key(dataset: str, ingest_id: str) -> str:
    """Where the quarantined rows of an ingest live."""
    return f"{QUARANTINE_PREFIX}/{dataset}/{ingest_id}.parquet"


def get_record(lake: Lake, ingest_id: str) -> IngestRecord | None:
    """The record of a published ingest, or None if it was never (completely) published."""
    key = record_key(ingest_id)
    return IngestRecord(**lake.read_json(key)) if lake.exists(key) else None


def read_records(lake: Lake) -> list[IngestRecord]:
    """Records of every ingest now in silver."""
    return [IngestRecord(**row) for row in lake.iter_json(f"{RECORD_PREFIX}/*.json")]


def _split_partitions(rows: pa.Table) -> dict[tuple[str, int], pa.Table]:
    """Rows by (symbol, year), each sorted by time: one sort, then zero-copy slices."""
    frame = pl.from_arrow(rows)
    assert isinstance(frame, pl.DataFrame)
    time_column = "session_date" if "session_date" in frame.columns else "ts_event"
    frame = frame.sort("symbol", "ts_event")
    bounds = (
        frame.select(pl.col("symbol"), pl.col(time_column).dt.year().alias("year"))
        .with_row_index("start")
        .group_by("symbol", "year", maintain_order=True)
        .agg(pl.col("start").min(), pl.len().alias("length"))
    )
    table = frame.to_arrow().cast(rows.schema)
    return {
        (symbol, year): table.slice(start, length)
        for symbol, year, start, length in bounds.iter_rows()
    }


def publish_ingest(
    lake: Lake,
    *,
    dataset: str,
    source: str,
    ingest_id: str,
    rows: pa.Table,
    quarantined: pa.Table,
    rows_in: int,
    flagged_by_rule: dict[str, int],
    supersedes: list[str] = (),  # type: ignore[assignment]
) -> IngestRecord:
    """Publish the silver rows and quarantined rows of one ingest, replacing any earlier publish.

    Args:
        lake: The lake.
        dataset: The silver dataset (``bars``...); ``rows`` must have its canonical schema.
        source: The source the ingest came from.
        ingest_id: The delivery these rows came from.
        rows: The valid rows.
        quarantined: The rejected rows (``QUARANTINE`` schema).
        rows_in: How many rows the delivery held (must equal valid + quarantined).
        flagged_by_rule: WARNING counts, for the record.
        supersedes: Earlier deliveries of the same thing, whose rows this one replaces.

    Returns:
        The record written last, which marks the ingest as published.
    """
    rows = rows.cast(schema_of(dataset))
    if rows.num_rows + quarantined.num_rows != rows_in:
        raise AssertionError(
            f"row accounting broken for ingest {ingest_id}: {rows_in} in, "
            f"{rows.num_rows} valid + {quarantined.num_rows} quarantined"
        )
    # Files of an earlier publish of this ingest that this one does not rewrite are stale.
    # (Listing the whole dataset instead would cost a walk of every partition per ingest.)
    previous = get_record(lake, ingest_id)
    before = set(previous.partitions) if previous else set()
    written: list[str] = []
    for (symbol, year), part in (_split_partitions(rows) if rows.num_rows else {}).items():
        key = f"{partition_dir(dataset, symbol, year)}/{ingest_id}.parquet"
        lake.write_parquet(key, part)
        written.append(key)
    for stale in sorted(before - set(written)):
        lake.remove(stale)

    qkey = quarantine_key(dataset, ingest_id)
    if quarantined.num_rows:
        lake.write_parquet(qkey, quarantined.cast(QUARANTINE))
    else:
        lake.remove(qkey)

    by_rule: dict[str, int] = {}
    for rule in quarantined["rule_id"].to_pylist():
        by_rule[rule] = by_rule.get(rule, 0) + 1
    record = IngestRecord(
        ingest_id=ingest_id,
        dataset=dataset,
        source=source,
        rows_in=rows_in,
        rows_out=rows.num_rows,
        rows_quarantined=quarantined.num_rows,
        quarantined_by_rule=dict(sorted(by_rule.items())),
        flagged_by_rule=dict(sorted(flagged_by_rule.items())),
        partitions=sorted(written),
        published_at=datetime.now(UTC).isoformat(timespec="microseconds"),
    )
    lake.write_json(record_key(ingest_id), asdict(record))
    for old in supersedes:
        retract_ingest(lake, dataset=dataset, ingest_id=old)
    return record


def retract_ingest(lake: Lake, *, dataset: str, ingest_id: str) -> None:
    """Remove every silver and quarantine row of an ingest (superseded by a newer delivery)."""
    record = get_record(lake, ingest_id)
    for key in record.partitions if record else []:
        lake.remove(key)
    lake.remove(quarantine_key(dataset, ingest_id))
    lake.remove(record_key(ingest_id))
    log.info("retracted superseded ingest", extra={"ingest_id": ingest_id, "dataset": dataset})


def read_dataset(lake: Lake, dataset: str) -> pa.Table:
    """Every silver row of a dataset (small datasets and tests; the loader streams big ones)."""
    tables = [lake.read_parquet(k) for k in lake.glob(f"{SILVER}/{dataset}/*/*/*.parquet")]
    if not tables:
        return schema_of(dataset).empty_table()
    return pa.concat_tables(tables).cast(schema_of(dataset))


def read_quarantine(lake: Lake, dataset: str | None = None) -> pa.Table:
    """Every quarantined row (of one dataset, or all)."""
    keys = lake.glob(f"{QUARANTINE_PREFIX}/{dataset or '*'}/*.parquet")
    if not keys:
        return QUARANTINE.empty_table()
    return pa.concat_tables([lake.read_parquet(k).cast(QUARANTINE) for k in keys])


# --- Chunked publishing: deliveries too large for one table (HDF5 tick files) --------------
#
#   silver/<dataset>/symbol=<S>/year=<Y>/<ingest_id>-<chunk:06d>.parquet
#   silver/_quarantine/<dataset>/<ingest_id>-<chunk:06d>.parquet
#   silver/_progress/<ingest_id>.json      chunks done so far (deleted once the record is written)
#
# Chunk files are named by ingest and chunk number, so a chunk written again after a crash
# replaces its own files; the record is still written last and lists every file.

PROGRESS_PREFIX = "silver/_progress"


def chunk_key(dataset: str, symbol: str, year: int, ingest_id: str, chunk: int) -> str:
    """The silver file of one chunk of an ingest in one partition."""
    return f"{partition_dir(dataset, symbol, year)}/{ingest_id}-{chunk:06d}.parquet"


def chunk_quarantine_key(dataset: str, ingest_id: str, chunk: int) -> str:
    """The quarantine file of one chunk of an ingest."""
    return f"{QUARANTINE_PREFIX}/{dataset}/{ingest_id}-{chunk:06d}.parquet"


def progress_key(ingest_id: str) -> str:
    """Where the progress of a chunked publish lives."""
    return f"{PROGRESS_PREFIX}/{ingest_id}.json"


@dataclass
class ChunkProgress:
    """How far a chunked publish got: chunks before ``next_chunk`` have their files in place."""

    ingest_id: str
    chunk_rows: int  # chunk boundaries are kept on resume, whatever the settings say now
    next_chunk: int = 0
    rows_in: int = 0
    rows_out: int = 0
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    flagged_by_rule: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    quarantine_files: list[str] = field(default_factory=list)
    state: dict[str, int] = field(default_factory=dict)  # the source's carry-over between chunks

    def to_record(
        self, *, dataset: str, source: str, symbols: list[str] | None = None
    ) -> IngestRecord:
        """The ingest record of the finished publish (every chunk in place)."""
        return IngestRecord(
            ingest_id=self.ingest_id,
            dataset=dataset,
            source=source,
            rows_in=self.rows_in,
            rows_out=self.rows_out,
            rows_quarantined=sum(self.quarantined_by_rule.values()),
            quarantined_by_rule=dict(sorted(self.quarantined_by_rule.items())),
            flagged_by_rule=dict(sorted(self.flagged_by_rule.items())),
            partitions=sorted(self.files),
            published_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            symbols=symbols,
        )


def read_progress(lake: Lake, ingest_id: str) -> ChunkProgress | None:
    """The progress of an interrupted chunked publish, or None."""
    key = progress_key(ingest_id)
    return ChunkProgress(**lake.read_json(key)) if lake.exists(key) else None


def write_progress(lake: Lake, progress: ChunkProgress) -> None:
    """Record the progress of a chunked publish (after the chunk's files are in place)."""
    lake.write_json(progress_key(progress.ingest_id), asdict(progress))


def write_parquet_encoded(
    lake: Lake, key: str, table: pa.Table, *, compression: str = "zstd"
) -> int:
    """Write a large numeric table as Parquet, encoded for speed and size; returns its bytes.

    Sorted timestamps and row numbers are delta-encoded, sizes byte-stream-split, strings
    dictionary-encoded (dictionary arrays are written as they are, without re-hashing), and
    values are handed to the encoders 64K at a time (the default 1K costs ~40% more time).
    The Arrow schema is not stored: readers get the plain Parquet types (``string``, not
    dictionary), the same as files written by :meth:`Lake.write_parquet`.
    """
    import io

    import pyarrow.parquet as pq

    names = set(table.schema.names)
    encoding = {
        "ts_event": "DELTA_BINARY_PACKED",
        "sequence": "DELTA_BINARY_PACKED",
        "size": "BYTE_STREAM_SPLIT",
    }
    encoding = {k: v for k, v in encoding.items() if k in names}
    dictionary = [
        f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)
    ]
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression=compression,
        use_dictionary=dictionary,
        column_encoding=encoding,
        write_batch_size=1 << 16,
        store_schema=False,
    )
    data = buffer.getvalue()
    lake.write_bytes(key, data)
    return len(data)


def ingest_files(lake: Lake, dataset: str, ingest_id: str) -> tuple[list[str], list[str]]:
    """Every silver and quarantine file of a chunked ingest now in the lake (any chunk)."""
    silver = lake.glob(f"{SILVER}/{dataset}/*/*/{ingest_id}-*.parquet")
    quarantine = lake.glob(f"{QUARANTINE_PREFIX}/{dataset}/{ingest_id}-*.parquet")
    return silver, quarantine


def publish_chunked_record(
    lake: Lake,
    record: IngestRecord,
    *,
    quarantine_files: list[str],
    supersedes: list[str] = (),  # type: ignore[assignment]
) -> IngestRecord:
    """Finish a chunked publish: drop files no chunk wrote, write the record, retract older.

    Args:
        lake: The lake.
        record: The record, ``partitions`` listing every silver file the chunks wrote.
        quarantine_files: Every quarantine file the chunks wrote.
        supersedes: Earlier deliveries of the same thing, whose rows this one replaces.

    Returns:
        The record, written last: it marks the ingest as published.
    """
    if record.rows_in != record.rows_out + record.rows_quarantined:
        raise AssertionError(
            f"row accounting broken for ingest {record.ingest_id}: {record.rows_in} in, "
            f"{record.rows_out} valid + {record.rows_quarantined} quarantined"
        )
    # Files of an earlier attempt with other chunk boundaries, or of a publish under other rules.
    silver, quarantine = ingest_files(lake, record.dataset, record.ingest_id)
    for stale in sorted(set(silver) - set(record.partitions)):
        lake.remove(stale)
    for stale in sorted(set(quarantine) - set(quarantine_files)):
        lake.remove(stale)
    lake.write_json(record_key(record.ingest_id), asdict(record))
    lake.remove(progress_key(record.ingest_id))
    for old in supersedes:
        retract_chunked_ingest(lake, dataset=record.dataset, ingest_id=old)
    return record


def retract_chunked_ingest(lake: Lake, *, dataset: str, ingest_id: str) -> None:
    """Remove every silver and quarantine file, the record and the progress of an ingest."""
    silver, quarantine = ingest_files(lake, dataset, ingest_id)
    for key in silver + quarantine:
        lake.remove(key)
    retract_ingest(lake, dataset=dataset, ingest_id=ingest_id)
    lake.remove(progress_key(ingest_id))
