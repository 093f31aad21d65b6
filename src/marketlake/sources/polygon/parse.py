"""Read one Polygon/Massive flat file (gzip CSV bytes) into a typed frame (pure: bytes in).

:func:`read_flat_file` reads every column as text first, then converts: a value that does not
convert is kept as a null beside its original text, so the checks can quarantine the row *with*
what it said instead of the whole file failing (an integer schema on a fractional size would null
every row silently). :func:`iter_flat_file` (the ingest's path) first reads each chunk with the
column types directly (~2x faster, half the memory); only a chunk where some value does not convert
is read the tolerant way. Its rows keep no original text: that of the few rows the checks reject is
read back from the chunk's text (:func:`raw_of_rows`), so both paths quarantine the same rows with
the same text. Decompression is ISA-L's (``isal``, ~4x faster than ``zlib``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import numpy as np
import polars as pl
from isal import igzip, igzip_lib

from marketlake.errors import SourceError

RAW_PREFIX = "_raw_"
# Decompressed bytes read at a time when a file is parsed in chunks.
READ_BLOCK = 2**20
NEWLINE = ord("\n")

# kind -> required columns, optional columns (filled with nulls when absent: index aggregates
# carry no volume/transactions, per-symbol files may leave out the ticker).
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "trades_v1": (
        ("price", "size", "sip_timestamp"),
        ("ticker", "conditions", "correction", "exchange", "id", "participant_timestamp",
         "sequence_number", "tape", "trf_id", "trf_timestamp"),
    ),
    "quotes_v1": (
        ("ask_price", "bid_price", "sip_timestamp"),
        ("ticker", "ask_exchange", "ask_size", "bid_exchange", "bid_size", "conditions",
         "indicators", "participant_timestamp", "sequence_number", "tape", "trf_timestamp"),
    ),
    "minute_aggs_v1": (
        ("open", "close", "high", "low", "window_start"),
        ("ticker", "volume", "transactions"),
    ),
    "day_aggs_v1": (
        ("open", "close", "high", "low", "window_start"),
        ("ticker", "volume", "transactions"),
    ),
}  # fmt: skip

# kind -> the columns the checks and silver read: all a typed read (``keep_raw=False``) keeps.
USED: dict[str, tuple[str, ...]] = {
    "trades_v1": ("price", "size", "sip_timestamp", "ticker", "conditions", "exchange", "id",
                  "sequence_number"),
    "quotes_v1": ("ask_price", "bid_price", "sip_timestamp", "ticker", "ask_exchange",
                  "ask_size", "bid_exchange", "bid_size", "conditions"),
    "minute_aggs_v1": ("open", "close", "high", "low", "window_start", "ticker", "volume",
                       "transactions"),
    "day_aggs_v1": ("open", "close", "high", "low", "window_start", "ticker", "volume",
                    "transactions"),
}  # fmt: skip

FLOATS = {"price", "size", "ask_price", "ask_size", "bid_price", "bid_size", "open", "close",
          "high", "low", "volume"}  # fmt: skip
INTS = {"sip_timestamp", "participant_timestamp", "trf_timestamp", "window_start",
        "sequence_number", "transactions"}  # fmt: skip
# What a broken gzip stream raises (zlib's and ISA-L's decoders).
GZIP_ERRORS = (EOFError, OSError, zlib.error, cast(type[Exception], igzip_lib.IsalError))


def decompress(data: bytes, *, path: str) -> bytes:
    """The CSV text of a ``.csv.gz`` file.

    Raises:
        SourceError: the gzip stream is truncated or corrupt.
    """
    try:
        return cast(bytes, igzip.decompress(data))  # type: ignore[no-untyped-call]
    except GZIP_ERRORS as exc:
        raise _broken(exc, path) from exc


def read_flat_file(data: bytes, *, kind: str, path: str, symbol: str | None = None) -> pl.DataFrame:
    """Parse one flat file into typed columns, keeping the original text of every field.

    Args:
        data: The ``.csv.gz`` bytes exactly as downloaded.
        kind: ``trades_v1``, ``quotes_v1``, ``minute_aggs_v1`` or ``day_aggs_v1``.
        path: Where the file came from (for errors).
        symbol: The symbol of a per-symbol file, used when the file has no ``ticker`` column.

    Returns:
        One row per data line: ``source_row`` (1-based line number), every known column typed
        (floats for prices and sizes, int64 for timestamps and counts, text otherwise), the
        original text as ``_raw_<column>``, and ``ticker`` (never absent).

    Raises:
        SourceError: the gzip is broken, the file is empty, or a required column is missing.
    """
    _known_kind(kind, path)
    text = decompress(data, path=path)
    if not text.strip():
        raise SourceError("the file is empty (no header)", path=path, hint="download it again")
    return typed_frame(text, kind=kind, path=path, symbol=symbol, first_line=2)


def iter_flat_file(
    stream: BinaryIO,
    *,
    kind: str,
    path: str,
    symbol: str | None = None,
    chunk_rows: int,
    first_chunk: int = 0,
) -> Iterator[FlatChunk]:
    """Parse a flat file in chunks of ``chunk_rows`` data lines, in bounded memory.

    The gzip stream is decompressed block by block and cut at line ends; each chunk is parsed
    exactly as :func:`read_flat_file` parses a whole file (the header is put in front of it), so
    both give the same rows. Chunk boundaries depend only on ``chunk_rows``: chunk ``n`` always
    holds lines ``n * chunk_rows`` onwards, which is what lets an interrupted publish resume.

    Args:
        stream: The ``.csv.gz`` bytes (a file, or ``io.BytesIO``).
        kind: ``trades_v1``, ``quotes_v1``, ``minute_aggs_v1`` or ``day_aggs_v1``.
        path: Where the file came from (for errors).
        symbol: The symbol of a per-symbol file, used when the file has no ``ticker`` column.
        chunk_rows: Data lines per chunk.
        first_chunk: Skip the chunks before this one (decompressed, not parsed).

    Yields:
        The chunks in order; ``frame`` as from :func:`read_flat_file` (``source_row`` counts
        lines of the whole file), without the ``_raw_`` columns when every value converted
        (:func:`raw_of_rows` gives them for the rows asked for).

    Raises:
        SourceError: the gzip is broken (found when the reader gets there), the file is empty,
            or a required column is missing.
    """
    _known_kind(kind, path)
    blocks = _line_blocks(stream, chunk_rows=chunk_rows, path=path)
    for number, (text, lines) in enumerate(blocks):
        if number >= first_chunk:
            frame = typed_frame(
                text, kind=kind, path=path, symbol=symbol,
                first_line=2 + number * chunk_rows, keep_raw=False, lines=lines,
            )  # fmt: skip
            if frame.height != lines:
                raise SourceError(
                    f"chunk {number} has {frame.height} rows for {lines} lines (a quoted field "
                    "spans lines?)",
                    path=path,
                    hint="raise sources.polygon.stream_threshold_mib to read the file whole",
                )
            yield FlatChunk(number, frame, kind=kind, text=text, first_line=2 + number * chunk_rows)


@dataclass(frozen=True)
class FlatChunk:
    """One chunk of a flat file: its number (from 0), its parsed rows and its text."""

    number: int
    frame: pl.DataFrame
    kind: str
    text: bytes  # header + the chunk's lines, for the original text of rejected rows
    first_line: int  # the line number of the chunk's first data line in the whole file

    def raw_of(self, source_rows: pl.Series) -> pl.DataFrame:
        """The ``_raw_`` columns of the rows at ``source_rows`` (see :func:`raw_of_rows`)."""
        return raw_of_rows(self.text, source_rows, kind=self.kind, first_line=self.first_line)


def raw_of_rows(text: bytes, source_rows: pl.Series, *, kind: str, first_line: int) -> pl.DataFrame:
    """The original text of some rows of a chunk, exactly as :func:`read_flat_file` keeps it.

    Args:
        text: The chunk's CSV text, header first, one record per line.
        source_rows: Line numbers (in the whole file) of the rows wanted.
        kind: The flat-file kind (which columns are known).
        first_line: The line number of the first data line of ``text``.

    Returns:
        One row per entry of ``source_rows`` (same order): ``_raw_<column>`` for every known
        column of the header, in the header's order.
    """
    starts = _line_starts(text, source_rows.to_numpy().astype(np.int64) - first_line + 1)
    picked = [text[: text.index(b"\n") + 1]]
    for start in starts:
        stop = text.find(b"\n", start)
        picked.append(text[start:] + b"\n" if stop < 0 else text[start : stop + 1])
    frame = _read_text(b"".join(picked), path="")
    required, optional = COLUMNS[kind]
    known = {*required, *optional}
    return frame.select(pl.col(c).alias(RAW_PREFIX + c) for c in frame.columns if c in known)


def _line_starts(text: bytes, lines: np.ndarray) -> list[int]:
    """Where lines (0: the first) start in ``text``: newlines counted a segment at a time,
    located one by one only in the segments holding the lines wanted."""
    segment = 1 << 20
    cuts = list(range(0, len(text), segment))
    data = np.frombuffer(text, dtype=np.uint8)
    before = np.cumsum([0] + [np.count_nonzero(data[c : c + segment] == NEWLINE) for c in cuts])
    found: dict[int, np.ndarray] = {}
    starts = []
    for line in lines.tolist():
        if line == 0:
            starts.append(0)
            continue
        # the start of line k is just after the k-th newline: in the segment where the count
        # of newlines before it reaches k
        s = int(np.searchsorted(before, line, side="left")) - 1
        if s not in found:
            view = np.frombuffer(text, dtype=np.uint8, count=min(segment, len(text) - cuts[s]),
                                 offset=cuts[s])  # fmt: skip
            found[s] = np.flatnonzero(view == NEWLINE)
        starts.append(cuts[s] + int(found[s][line - int(before[s]) - 1]) + 1)
    return starts


def _line_blocks(stream: BinaryIO, *, chunk_rows: int, path: str) -> Iterator[tuple[bytes, int]]:
    """(the header line + the next ``chunk_rows`` lines, how many) until the end of the file."""
    reader = igzip.IGzipFile(fileobj=stream, mode="rb")  # type: ignore[no-untyped-call]
    pieces: list[memoryview] = []  # the lines of the chunk so far, not copied until joined
    lines = 0
    header = b""
    try:
        while True:
            block = reader.read(READ_BLOCK)
            if not header:
                if not block.strip():
                    raise SourceError(
                        "the file is empty (no header)", path=path, hint="download it again"
                    )
                while b"\n" not in block:  # a header longer than a block: unusual, but fine
                    more = reader.read(READ_BLOCK)
                    if not more:
                        block += b"\n"
                        break
                    block += more
                cut = block.index(b"\n") + 1
                header, block = block[:cut], block[cut:]
            if not block:
                break
            # numpy counts newlines ~3x faster than bytes.count; the mask is kept for the cuts
            newline = np.frombuffer(block, dtype=np.uint8) == NEWLINE
            view, count = memoryview(block), int(np.count_nonzero(newline))
            used, start = 0, 0  # newlines of this block handed out; where the rest starts
            ends = None
            while lines + count - used >= chunk_rows:
                if ends is None:  # once per block, however many chunks end in it
                    ends = np.flatnonzero(newline)
                used += chunk_rows - lines
                stop = int(ends[used - 1]) + 1
                pieces.append(view[start:stop])
                yield b"".join([header, *pieces]), chunk_rows  # the one copy of the text
                pieces, lines, start = [], 0, stop
            if start < len(block):
                pieces.append(view[start:])
                lines += count - used
    except GZIP_ERRORS as exc:
        raise _broken(exc, path) from exc
    if pieces:
        ends_line = pieces[-1][-1] == NEWLINE
        yield b"".join([header, *pieces]), lines + (0 if ends_line else 1)


def _broken(exc: BaseException, path: str) -> SourceError:
    return SourceError(
        f"the file is not a complete gzip stream ({exc})",
        path=path,
        hint="it was probably cut off in transfer or is still being published; run the "
        "same command again later to download it again",
    )


def _known_kind(kind: str, path: str) -> None:
    if kind not in COLUMNS:
        raise SourceError(f"unknown flat-file kind {kind!r}", path=path, hint=f"one of {COLUMNS}")


def typed_frame(
    text: bytes,
    *,
    kind: str,
    path: str,
    symbol: str | None,
    first_line: int,
    keep_raw: bool = True,
    lines: int | None = None,
) -> pl.DataFrame:
    """Parse CSV text (header + lines) into typed columns; see :func:`read_flat_file`.

    Args:
        text: The decompressed CSV, header first.
        kind: The flat-file kind.
        path: Where the file came from (for errors).
        symbol: The symbol of a per-symbol file, when the file has no ``ticker`` column.
        first_line: The line number (in the whole file) of the first data line.
        keep_raw: Keep the original text of every field (``_raw_<column>``). When False, only
            the columns the checks and silver use (``USED``) are read, with their types
            directly, and the ``_raw_`` columns are left out, unless some value does not
            convert (then every column is read as with ``keep_raw``).
        lines: The data lines in ``text``, when known: a typed read giving another row count
            (a quoted field spanning lines) is read again as text.

    Returns:
        The typed frame, ``source_row`` counting from ``first_line``.

    Raises:
        SourceError: the CSV cannot be read or a required column is missing.
    """
    frame = None if keep_raw else _read_typed(text, lines, kind)
    keep_raw = frame is None
    if frame is None:
        frame = _read_text(text, path=path)
    required, optional = COLUMNS[kind]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SourceError(
            f"the header lacks {', '.join(missing)} (found: {', '.join(frame.columns)})",
            path=path,
            hint=f"is this a {kind} file? pass the --dataset the file belongs to",
        )
    header = [c for c in frame.columns if c in required or c in optional]
    raw = frame.select(pl.col(c).alias(RAW_PREFIX + c) for c in header) if keep_raw else None
    typed: list[pl.Series] = []
    for column in (*required, *optional) if keep_raw else USED[kind]:
        if column not in frame.columns:
            typed.append(
                pl.repeat(None, frame.height, dtype=_dtype(column), eager=True).alias(column)
            )
        elif keep_raw and (column in FLOATS or column in INTS):
            typed.append(_to_number(frame[column], _dtype(column)))
        else:
            typed.append(frame[column])
    out = pl.DataFrame(typed)
    if raw is not None:
        out = out.with_columns(raw)
    if symbol is not None:
        out = out.with_columns(pl.coalesce(pl.col("ticker"), pl.lit(symbol)).alias("ticker"))
    line = pl.int_range(first_line, pl.len() + first_line, dtype=pl.Int64)
    return out.with_columns(line.alias("source_row"))


def _dtype(column: str) -> type[pl.DataType]:
    return pl.Float64 if column in FLOATS else pl.Int64 if column in INTS else pl.String


def _read_text(text: bytes, *, path: str) -> pl.DataFrame:
    """Every field as text; header names stripped and lower-cased."""
    try:
        frame = pl.read_csv(
            text, infer_schema=False, truncate_ragged_lines=True, quote_char='"', low_memory=False
        )
    except pl.exceptions.PolarsError as exc:
        raise SourceError(
            f"the CSV cannot be read: {exc}", path=path, hint="check the file; download it again"
        ) from exc
    return frame.rename({c: c.strip().lower() for c in frame.columns})


def _read_typed(text: bytes, lines: int | None, kind: str) -> pl.DataFrame | None:
    """The columns the checks and silver use, numbers read as numbers directly; None when
    some value does not convert (or the rows are not one per line, or the header is odd), so
    that the caller reads the text the tolerant way."""
    first = text.split(b"\n", 1)[0].rstrip(b"\r").decode(errors="replace")
    if '"' in first:
        return None  # a quoted header: leave it to the text path
    names = {c: c.strip().lower() for c in first.split(",")}
    if len(set(names.values())) != len(names) or not set(COLUMNS[kind][0]) <= {*names.values()}:
        return None
    used = {raw: c for raw, c in names.items() if c in USED[kind]}
    try:
        frame = pl.read_csv(
            text,
            infer_schema=False,
            columns=list(used),
            schema_overrides={raw: _dtype(c) for raw, c in used.items() if c in FLOATS | INTS},
            truncate_ragged_lines=True,
            quote_char='"',
            low_memory=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.columns != list(used) or (lines is not None and frame.height != lines):
        return None
    return frame.rename(used)


def _to_number(text: pl.Series, dtype: type[pl.DataType]) -> pl.Series:
    """Text to numbers; the slower tolerant path (spaces, ``1.7e18`` ints) only when needed."""
    fast = text.cast(dtype, strict=False)
    if fast.null_count() == text.null_count():
        return fast
    stripped = text.str.strip_chars()
    slow = stripped.cast(dtype, strict=False)
    if dtype == pl.Int64:
        # Some writers emit 1.7e18 or "123.0" for integers: read those through float.
        slow = slow.fill_null(stripped.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False))
    return slow


def raw_json(columns: list[str]) -> pl.Expr:
    """The original text of a row as one JSON object (for quarantine)."""
    raws = [c for c in columns if c.startswith(RAW_PREFIX)]
    if not raws:
        return pl.lit("{}")
    return pl.struct([pl.col(c).alias(c[len(RAW_PREFIX) :]) for c in raws]).struct.json_encode()
