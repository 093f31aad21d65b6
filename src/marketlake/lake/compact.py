"""Compaction of silver: the files of one ingest in one partition merged into one file.

Why only files of the *same* ingest: silver files are named by ingest id, and publishing or
retracting an ingest (``lake/silver.py``) replaces or removes exactly the files named after it.
A file holding rows of several ingests would survive the re-publish of one of them (its rows
twice) or be deleted with it (the others' rows lost). Merging within an ingest keeps that
contract without touching the publishers: the merged file is ``<ingest_id>-compact-<hash>.parquet``,
which the chunked publisher's own ``<ingest_id>-*`` clean-up replaces on re-processing and
``retract_chunked_ingest`` removes. Chunked (HDF5) ingests are what leave many files per
partition; a one-file-per-partition ingest has nothing to merge.

Steps, each atomic on its own, with a journal so a crash anywhere loses no row:

1. stream the inputs (in the order the bars reader reads them: first time, then name) into a
   hidden temporary file in the partition (``.tmp-*``: no ``*.parquet`` glob sees it);
2. write the journal ``silver/_compaction/<dataset>/<output name>.json`` (inputs, output, rows);
3. rename the temporary file to the output -- the commit point;
4. point the ingest's record at the output instead of the inputs;
5. delete the inputs, then the journal.

A crash before 3 leaves the inputs as they were (the journal is rolled back); a crash after 3
is rolled forward by the next ``compact`` (or :func:`recover_compactions`). Between 3 and 5 the
output and its inputs are both on disk: :func:`hidden_by_compaction` names the inputs, and the
marketlake loader skips them, so it sees every row exactly once. Readers that glob silver
themselves (DuckDB, the bars reader) should run :func:`recover_compactions` first.

Files are streamed one row group at a time: memory is bounded by the largest row group.

Partitions with many files of *different* ingests (a vendor file a day) are not merged in silver;
they get a served copy for the loader instead (:func:`build_served`, below).
"""

from __future__ import annotations

import glob as globlib
import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from marketlake.errors import LakeError
from marketlake.lake.silver import SILVER, get_record, progress_key, record_key
from marketlake.lake.store import Lake

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "silver/_compaction"
DATASETS = ("trades", "quotes", "bars")
MARK = "-compact-"


@dataclass
class CompactReport:
    """What one compaction did."""

    merged: list[str] = field(default_factory=list)  # output files written
    files_in: int = 0
    rows: int = 0
    served: int = 0  # served copies written (see build_served)
    recovered: int = 0  # interrupted compactions finished (or rolled back) first
    skipped_unpublished: list[str] = field(default_factory=list)  # ingests still being written


@dataclass(frozen=True)
class Journal:
    """One compaction in flight: ``inputs`` become ``output``."""

    dataset: str
    ingest_id: str
    inputs: list[str]
    output: str
    rows: int


def ingest_of(key: str) -> str:
    """The ingest id a silver file belongs to (``<id>.parquet``, ``<id>-<chunk>.parquet``...)."""
    return key.rsplit("/", 1)[-1].removesuffix(".parquet").split("-", 1)[0]


def journal_key(dataset: str, output: str) -> str:
    """Where the journal of the compaction writing ``output`` lives."""
    return f"{JOURNAL_PREFIX}/{dataset}/{output.rsplit('/', 1)[-1].removesuffix('.parquet')}.json"


def read_journals(lake: Lake, dataset: str | None = None) -> list[Journal]:
    """Compactions in flight (normally none)."""
    return [Journal(**row) for row in lake.iter_json(f"{JOURNAL_PREFIX}/{dataset or '*'}/*.json")]


def hidden_by_compaction(lake: Lake, dataset: str) -> set[str]:
    """Files a reader must skip: inputs of a committed compaction not yet deleted."""
    hidden: set[str] = set()
    if lake.is_local and not os.path.isdir(lake.full(f"{JOURNAL_PREFIX}/{dataset}")):
        return hidden  # the usual case, answered without a listing
    for journal in read_journals(lake, dataset):
        if lake.exists(journal.output):
            hidden.update(journal.inputs)
    return hidden


def recover_compactions(lake: Lake, dataset: str | None = None) -> int:
    """Finish every interrupted compaction (roll forward if committed, else back).

    Returns:
        How many journals were resolved.
    """
    journals = read_journals(lake, dataset)
    for journal in journals:
        if lake.exists(journal.output):
            _finish(lake, journal)
        else:
            lake.remove(journal_key(journal.dataset, journal.output))
        log.info("recovered compaction", extra={"output": journal.output})
    return len(journals)


def _finish(lake: Lake, journal: Journal) -> None:
    record = get_record(lake, journal.ingest_id)
    if record is not None:
        parts = [p for p in record.partitions if p not in set(journal.inputs)]
        updated = replace(record, partitions=sorted({*parts, journal.output}))
        lake.write_json(record_key(journal.ingest_id), asdict(updated))
    for key in journal.inputs:
        lake.remove(key)
    lake.remove(journal_key(journal.dataset, journal.output))


def list_parquet(lake: Lake, patterns: list[str]) -> dict[str, tuple[int, str]]:
    """``{key: (size, version)}`` of the Parquet files in the directories matching ``patterns``.

    The version is the inode and modification time (local) or the ETag (S3): a rewritten file
    gets a new one, which is what cached and served copies are keyed on.
    """
    found: dict[str, tuple[int, str]] = {}
    root = len(lake.full(""))
    if lake.is_local:
        # os.scandir, not fsspec's glob: the loader lists its partitions on every read, and
        # fsspec's walk costs ~10x more per directory.
        for pattern in patterns:
            for directory in globlib.glob(lake.full(pattern)):
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if entry.name.endswith(".parquet") and not entry.name.startswith("."):
                            stat = entry.stat()
                            key = f"{directory[root:]}/{entry.name}"
                            # the inode too: an atomic rewrite (rename) always makes a new one
                            version = f"{stat.st_ino}:{stat.st_mtime_ns}"
                            found[key] = (stat.st_size, version)
        return found
    for pattern in patterns:
        listing: dict[str, dict[str, Any]] = lake.fs.glob(
            lake.full(f"{pattern}/*.parquet"), detail=True
        )
        for path, info in listing.items():
            version = info.get("ETag") or info.get("LastModified") or info.get("mtime") or ""
            found[str(path)[root:]] = (int(info.get("size") or 0), str(version))
    return found


def _open(lake: Lake, key: str) -> pq.ParquetFile:
    try:
        source: Any = lake.full(key) if lake.is_local else lake.fs.open(lake.full(key), "rb")
        return pq.ParquetFile(source)
    except OSError as exc:
        raise LakeError(
            f"cannot read silver file to compact: {exc}",
            path=lake.url(key),
            hint="is the file complete? re-run the ingest that wrote it, then compact again",
        ) from exc


def _first_time(parquet: pq.ParquetFile) -> int:
    meta = parquet.metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if "ts_event" not in names or meta.num_row_groups == 0:
        return 0
    stats = meta.row_group(0).column(names.index("ts_event")).statistics
    return int(stats.min_raw) if stats is not None and stats.has_min_max else 0


def _writer_options(schema: pa.Schema) -> dict[str, Any]:
    """The encodings of ``write_parquet_encoded``: delta times, split sizes, string dictionaries."""
    encoding = {"ts_event": "DELTA_BINARY_PACKED", "sequence": "DELTA_BINARY_PACKED"}
    encoding |= {"size": "BYTE_STREAM_SPLIT"}
    dictionary = [f.name for f in schema if pa.types.is_string(f.type)]
    return {
        "compression": "zstd",
        "use_dictionary": dictionary,
        "column_encoding": {k: v for k, v in encoding.items() if k in schema.names},
        "write_batch_size": 1 << 16,
    }


def _flush(writer: pq.ParquetWriter, pending: list[pa.Table]) -> int:
    rows: int = sum(t.num_rows for t in pending)
    if rows:
        writer.write_table(pa.concat_tables(pending), row_group_size=rows)
    pending.clear()
    return rows


def _commit(lake: Lake, target: Any, tmp: str, output: str) -> None:
    """Make the merged file visible: a rename (local) or the upload's completion (S3)."""
    if lake.is_local:
        os.replace(lake.full(tmp), lake.full(output))
    else:
        target.close()


def _stream(
    lake: Lake,
    target: Any,
    files: list[tuple[str, pq.ParquetFile]],
    schema: pa.Schema,
    *,
    row_group_rows: int,
) -> int:
    """Copy the row groups of ``files``, in order, into one Parquet file; returns the rows."""
    written = 0
    with pq.ParquetWriter(target, schema, **_writer_options(schema)) as writer:
        pending: list[pa.Table] = []
        for key, parquet in files:
            if parquet.schema_arrow != schema:
                raise LakeError(
                    "silver files of one partition differ in schema",
                    path=lake.url(key),
                    hint="re-ingest it (--reprocess) so its files agree, then compact",
                )
            for group in range(parquet.metadata.num_row_groups):
                pending.append(parquet.read_row_group(group))
                # Small inputs are gathered into row groups of ~row_group_rows.
                if sum(t.num_rows for t in pending) >= row_group_rows:
                    written += _flush(writer, pending)
        written += _flush(writer, pending)
    return written


def _merge(
    lake: Lake, dataset: str, ingest_id: str, keys: list[str], *, row_group_rows: int
) -> Journal:
    """Steps 1-3 for one ingest in one partition; returns the committed journal."""
    files = [(key, _open(lake, key)) for key in keys]
    files.sort(key=lambda kf: (_first_time(kf[1]), kf[0]))
    rows = sum(f.metadata.num_rows for _, f in files)
    partition = keys[0].rsplit("/", 1)[0]
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:12]
    output = f"{partition}/{ingest_id}{MARK}{digest}.parquet"
    schema = files[0][1].schema_arrow
    tmp = f"{partition}/.tmp-{uuid.uuid4().hex}"
    target: Any = lake.full(tmp) if lake.is_local else lake.fs.open(lake.full(output), "wb")
    journal = Journal(dataset=dataset, ingest_id=ingest_id, inputs=keys, output=output, rows=rows)
    # The journal is written before the output can become visible (S3: at the upload's end).
    lake.write_json(journal_key(dataset, output), asdict(journal))
    try:
        written = _stream(lake, target, files, schema, row_group_rows=row_group_rows)
        if written != rows:
            raise LakeError(f"compaction wrote {written} rows of {rows}", path=lake.url(output))
        _commit(lake, target, tmp, output)
    except BaseException:
        if lake.is_local:
            if os.path.exists(lake.full(tmp)):
                os.remove(lake.full(tmp))
        elif not target.closed:
            target.discard()  # an aborted multipart upload never becomes visible
        lake.remove(journal_key(dataset, output))
        raise
    return journal


def compact(
    lake: Lake,
    *,
    datasets: tuple[str, ...] = DATASETS,
    min_files: int = 2,
    row_group_rows: int = 1 << 20,
    on_merge: Callable[[Journal], None] | None = None,
) -> CompactReport:
    """Merge, per partition, the files of each ingest into one; recover interrupted runs first.

    Args:
        lake: The lake.
        datasets: Silver datasets to compact.
        min_files: Merge an ingest's files in a partition only when it has at least this many.
        row_group_rows: Rows per row group of a merged file (memory holds about one).
        on_merge: Called after each committed merge (progress; tests use it to simulate crashes).

    Returns:
        What was merged. Running it again merges nothing more (idempotent).
    """
    report = CompactReport()
    for dataset in datasets:
        report.recovered += recover_compactions(lake, dataset)
        keys = lake.glob(f"{SILVER}/{dataset}/*/*/*.parquet")
        groups: dict[tuple[str, str], list[str]] = {}
        for key in keys:
            groups.setdefault((key.rsplit("/", 1)[0], ingest_of(key)), []).append(key)
        for (_, ingest_id), members in sorted(groups.items()):
            if len(members) < max(min_files, 2):
                continue
            # An ingest still being written (no record yet, or a chunked publish in progress)
            # owns its files: merging them under it would race its own clean-up.
            if not lake.exists(record_key(ingest_id)) or lake.exists(progress_key(ingest_id)):
                report.skipped_unpublished.append(ingest_id)
                continue
            journal = _merge(lake, dataset, ingest_id, members, row_group_rows=row_group_rows)
            if on_merge is not None:
                on_merge(journal)
            _finish(lake, journal)
            report.merged.append(journal.output)
            report.files_in += len(members)
            report.rows += journal.rows
            log.info("compacted", extra={"output": journal.output, "files": len(members)})
        report.served += build_served(
            lake, dataset, min_files=min_files, row_group_rows=row_group_rows
        )
    report.skipped_unpublished = sorted(set(report.skipped_unpublished))
    return report


# --- Served copies: one file per partition for the loader --------------------------------
#
#   silver/_serve/<dataset>/symbol=<S>/year=<Y>/<fingerprint>.parquet
#
# A partition of a vendor delivering one file a day holds ~252 small files a year, one per
# ingest; merging them in silver would break the one-ingest-one-file contract above. Instead
# the loader gets a *copy*: every row of the partition in one file, named by the fingerprint
# (names, sizes, versions) of the silver files it was made from. The loader uses it only when
# the partition's files still have exactly that fingerprint, so a re-ingest or retraction is
# seen at once (the copy is then ignored until the next compact rebuilds it). Silver itself is
# never changed by this step: it cannot lose a row, and DuckDB and the bars reader, which
# never look under ``_serve``, are unaffected.

SERVE_PREFIX = "silver/_serve"


def served_key(partition: str, files: list[tuple[str, int, str]]) -> str:
    """The served copy of ``partition`` made of exactly ``files`` ((key, size, version))."""
    text = "\n".join(f"{k.rsplit('/', 1)[-1]}\t{size}\t{v}" for k, size, v in sorted(files))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{SERVE_PREFIX}/{partition.removeprefix(SILVER + '/')}/{digest}.parquet"


def live_files(lake: Lake, dataset: str, patterns: list[str]) -> list[tuple[str, int, str]]:
    """(key, size, version) of the silver files readers should read, sorted by key."""
    found = list_parquet(lake, patterns)
    for key in hidden_by_compaction(lake, dataset):
        found.pop(key, None)
    return sorted((k, size, version) for k, (size, version) in found.items())


def build_served(lake: Lake, dataset: str, *, min_files: int, row_group_rows: int) -> int:
    """Write the served copy of every partition with ``min_files`` or more files.

    Returns:
        How many copies were written (partitions whose copy is current are skipped).
    """
    files = live_files(lake, dataset, [f"{SILVER}/{dataset}/symbol=*/year=*"])
    groups: dict[str, list[tuple[str, int, str]]] = {}
    for item in files:
        groups.setdefault(item[0].rsplit("/", 1)[0], []).append(item)
    built = 0
    for partition, members in sorted(groups.items()):
        key = served_key(partition, members)
        folder = key.rsplit("/", 1)[0]
        if len(members) >= max(min_files, 2) and not lake.exists(key):
            parquets = [(k, _open(lake, k)) for k, _, _ in members]
            schema = parquets[0][1].schema_arrow
            if lake.is_local:
                tmp = f"{folder}/.tmp-{uuid.uuid4().hex}"
                os.makedirs(lake.full(folder), exist_ok=True)
                try:
                    _stream(lake, lake.full(tmp), parquets, schema, row_group_rows=row_group_rows)
                    os.replace(lake.full(tmp), lake.full(key))
                finally:
                    if os.path.exists(lake.full(tmp)):
                        os.remove(lake.full(tmp))
            else:
                with lake.fs.open(lake.full(key), "wb") as out:
                    _stream(lake, out, parquets, schema, row_group_rows=row_group_rows)
            built += 1
        # Older copies of the partition can never match again.
        for old in lake.glob(f"{folder}/*.parquet"):
            if old != key or len(members) < max(min_files, 2):
                lake.remove(old)
    return built
