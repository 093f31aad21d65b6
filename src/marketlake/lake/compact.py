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
output and its inputs are both on disk. Readers therefore never list silver themselves: they
take a snapshot with :func:`live_files` / :func:`live_keys`, which reads the journals, lists,
reads the journals again (retrying when a compaction started or committed in between; an
``_epoch`` object rewritten by every compaction catches one that came and went entirely within
the listing) and drops the inputs of committed compactions, so every row is seen exactly once.
The marketlake loader, the bars reader and the DuckDB prepare step all use it.

Files are streamed one row group at a time: memory is bounded by the largest row group.

Partitions with many files of *different* ingests (a vendor file a day) are not merged in silver;
they get a served copy for the loader instead (:func:`build_served`, below).
"""

from __future__ import annotations

import glob as globlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from marketlake.errors import LakeError, TransientError
from marketlake.lake.silver import SILVER, get_record, progress_key, record_key
from marketlake.lake.store import Lake

log = logging.getLogger(__name__)

JOURNAL_PREFIX = "silver/_compaction"
DATASETS = ("trades", "quotes", "bars")
MARK = "-compact-"
EPOCH = "_epoch"  # rewritten by every compaction before its commit (see live_files)
SNAPSHOT_ATTEMPTS = 50  # listings retried while compactions keep committing under them
# Crash-test points of one compaction: before the commit, after it, after the record update,
# after each input deleted.
Step = Callable[[str, "Journal"], None]


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


def epoch_key(dataset: str) -> str:
    """The object every compaction of ``dataset`` rewrites before committing."""
    return f"{JOURNAL_PREFIX}/{dataset}/{EPOCH}"


@dataclass(frozen=True)
class JournalState:
    """What readers compare before and after listing: the epoch and each journal's state."""

    epoch: str
    journals: tuple[tuple[str, bool], ...]  # (journal key, output exists), sorted
    hidden: frozenset[str]  # inputs of the committed journals


def journal_state(lake: Lake, dataset: str) -> JournalState | None:
    """The compaction state of ``dataset``; None when a journal vanished while being read."""
    prefix = f"{JOURNAL_PREFIX}/{dataset}"
    entries: dict[str, str] = {}  # key -> version
    if lake.is_local:
        try:
            found = os.scandir(lake.full(prefix))
        except FileNotFoundError:
            return JournalState("", (), frozenset())  # never compacted: one system call
        with found:
            for entry in found:
                if entry.name == EPOCH or entry.name.endswith(".json"):
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:
                        return None
                    entries[f"{prefix}/{entry.name}"] = f"{stat.st_ino}:{stat.st_mtime_ns}"
    else:
        listing: dict[str, dict[str, Any]] = lake.fs.glob(lake.full(f"{prefix}/*"), detail=True)
        root = len(lake.full(""))
        for path, info in listing.items():
            key = str(path)[root:]
            if key.endswith((f"/{EPOCH}", ".json")):
                entries[key] = str(info.get("ETag") or info.get("LastModified") or "")
    epoch = entries.pop(epoch_key(dataset), "")
    journals: list[tuple[str, bool]] = []
    hidden: set[str] = set()
    for key in sorted(entries):
        try:
            journal = Journal(**json.loads(lake.fs.cat_file(lake.full(key))))
        except FileNotFoundError:
            return None  # finished (or rolled back) while we looked: look again
        committed = lake.exists(journal.output)
        journals.append((key, committed))
        if committed:
            hidden.update(journal.inputs)
    return JournalState(epoch, tuple(journals), frozenset(hidden))


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
            _remove_temporaries(lake, journal.output)
            lake.remove(journal_key(journal.dataset, journal.output))
        log.info("recovered compaction", extra={"output": journal.output})
    return len(journals)


def _finish(lake: Lake, journal: Journal, on_step: Step | None = None) -> None:
    """Steps 4-5: the record points at the output, then the inputs and the journal go."""
    record = get_record(lake, journal.ingest_id)
    if record is not None:
        parts = [p for p in record.partitions if p not in set(journal.inputs)]
        updated = replace(record, partitions=sorted({*parts, journal.output}))
        lake.write_json(record_key(journal.ingest_id), asdict(updated))
    if on_step is not None:
        on_step("recorded", journal)
    for key in journal.inputs:
        lake.remove(key)
        if on_step is not None:
            on_step("removed", journal)
    lake.remove(journal_key(journal.dataset, journal.output))


def _temporary(output: str) -> str:
    """A hidden name for the merged file being written (``*.parquet`` globs never match it)."""
    partition, name = output.rsplit("/", 1)
    return f"{partition}/.tmp-{name.removesuffix('.parquet')}-{uuid.uuid4().hex}"


def _remove_temporaries(lake: Lake, output: str) -> None:
    """Delete what a killed compaction left of ``output`` (local; S3 uploads never completed)."""
    if lake.is_local:
        partition, name = output.rsplit("/", 1)
        prefix = lake.full(f"{partition}/.tmp-{name.removesuffix('.parquet')}-")
        for path in globlib.glob(globlib.escape(prefix) + "*"):
            os.remove(path)


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
                            try:
                                stat = entry.stat()
                            except FileNotFoundError:
                                continue  # a finishing compaction's input: the journals tell
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
    lake: Lake,
    dataset: str,
    ingest_id: str,
    keys: list[str],
    *,
    row_group_rows: int,
    on_step: Step | None = None,
) -> Journal:
    """Steps 1-3 for one ingest in one partition; returns the committed journal."""
    files = [(key, _open(lake, key)) for key in keys]
    files.sort(key=lambda kf: (_first_time(kf[1]), kf[0]))
    rows = sum(f.metadata.num_rows for _, f in files)
    partition = keys[0].rsplit("/", 1)[0]
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:12]
    output = f"{partition}/{ingest_id}{MARK}{digest}.parquet"
    schema = files[0][1].schema_arrow
    tmp = _temporary(output)
    target: Any = lake.full(tmp) if lake.is_local else lake.fs.open(lake.full(output), "wb")
    journal = Journal(dataset=dataset, ingest_id=ingest_id, inputs=keys, output=output, rows=rows)
    # The journal is written before the output can become visible (S3: at the upload's end),
    # and the epoch after it: a reader listing meanwhile sees a change and lists again.
    lake.write_json(journal_key(dataset, output), asdict(journal))
    lake.write_bytes(epoch_key(dataset), uuid.uuid4().hex.encode())
    try:
        written = _stream(lake, target, files, schema, row_group_rows=row_group_rows)
        if written != rows:
            raise LakeError(f"compaction wrote {written} rows of {rows}", path=lake.url(output))
        if on_step is not None:
            on_step("written", journal)
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
    on_step: Step | None = None,
) -> CompactReport:
    """Merge, per partition, the files of each ingest into one; recover interrupted runs first.

    Args:
        lake: The lake.
        datasets: Silver datasets to compact.
        min_files: Merge an ingest's files in a partition only when it has at least this many.
        row_group_rows: Rows per row group of a merged file (memory holds about one).
        on_merge: Called after each committed merge (progress).
        on_step: Called at each step of each merge with its name (``written``: before the
            commit; ``committed``; ``recorded``: record updated; ``removed``: after each input
            deleted); tests use it to simulate crashes.

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
            journal = _merge(
                lake, dataset, ingest_id, members, row_group_rows=row_group_rows, on_step=on_step
            )
            if on_step is not None:
                on_step("committed", journal)
            if on_merge is not None:
                on_merge(journal)
            _finish(lake, journal, on_step)
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
    """A consistent snapshot of the silver files readers should read: every row exactly once.

    Reads the compaction journals, lists, reads them again -- listing again whenever they
    changed (a compaction started, committed or finished in between) -- and drops the inputs
    of committed compactions whose output is on disk.

    Args:
        lake: The lake.
        dataset: The silver dataset (``trades``, ``quotes``, ``bars``...).
        patterns: Partition folders to list (globs, e.g. ``silver/trades/symbol=*/year=2024``).

    Returns:
        (key, size, version) of each file, sorted by key.

    Raises:
        TransientError: compactions kept committing under every listing tried.
    """
    return _snapshot(lake, dataset, lambda: list_parquet(lake, patterns))


def live_keys(lake: Lake, dataset: str) -> list[str]:
    """Every silver Parquet file of ``dataset`` (any partition depth) a reader should read.

    The consistent snapshot of :func:`live_files` over the whole dataset: give exactly these
    files to a reader that cannot skip files itself (DuckDB's ``read_parquet([...])``), never a
    glob, which would see a compaction's output and its inputs both.

    Returns:
        Lake keys, sorted.

    Raises:
        TransientError: compactions kept committing under every listing tried.
    """
    return [key for key, _, _ in _snapshot(lake, dataset, lambda: _list_tree(lake, dataset))]


def _snapshot(
    lake: Lake, dataset: str, listing: Callable[[], dict[str, tuple[int, str]]]
) -> list[tuple[str, int, str]]:
    for attempt in range(SNAPSHOT_ATTEMPTS):
        before = journal_state(lake, dataset)
        found = listing()
        after = journal_state(lake, dataset)
        if before is not None and before == after:
            return sorted((k, s, v) for k, (s, v) in found.items() if k not in after.hidden)
        time.sleep(min(0.001 * 2**attempt, 0.2))  # a compaction is committing: let it
    raise TransientError(
        f"silver {dataset} kept changing while being listed ({SNAPSHOT_ATTEMPTS} tries)",
        path=lake.url(f"{SILVER}/{dataset}"),
        hint="a compaction is running: retry when `marketlake compact` has finished",
    )


def _list_tree(lake: Lake, dataset: str) -> dict[str, tuple[int, str]]:
    """``{key: (size, version)}`` of every Parquet file under ``silver/<dataset>``."""
    top = f"{SILVER}/{dataset}"
    if not lake.is_local:
        return list_parquet(lake, [f"{top}/**"])
    found: dict[str, tuple[int, str]] = {}
    root = len(lake.full(""))
    for directory, _, names in os.walk(lake.full(top)):
        for name in names:
            if name.endswith(".parquet") and not name.startswith("."):
                path = os.path.join(directory, name)
                try:
                    stat = os.stat(path)
                except FileNotFoundError:
                    continue  # deleted meanwhile (a finishing compaction: the journals tell)
                found[path[root:]] = (stat.st_size, f"{stat.st_ino}:{stat.st_mtime_ns}")
    return found


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
