"""Read a key of an HDF5 tick file in bounded chunks of rows, whatever its layout.

Each chunk is the original values of every column (one NumPy array per column, by the column's
name in the file: views into the chunk's read buffer, possibly strided) with its row range, so
that a quarantined row can be shown as the file had it. Memory is a few chunks, whatever the
file's size.

Compound datasets are read with HDF5's own file type as the memory type, so HDF5 copies bytes
instead of converting each fixed-length string field (which made h5py's plain slicing ~10x
slower on files with a contract column).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from h5py import h5s

from marketlake.errors import SourceError
from marketlake.sources.hdf5_ticks.layout import Column, KeyLayout
from marketlake.sources.hdf5_ticks.meta import fixed_object_column

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawChunk:
    """Rows ``[start, stop)`` of a key: each column's values as stored."""

    number: int  # 0-based chunk number: rows [number * chunk_rows, ...)
    start: int
    stop: int
    columns: dict[str, np.ndarray]

    @property
    def rows(self) -> int:
        """How many rows the chunk holds."""
        return self.stop - self.start


def chunk_count(nrows: int, chunk_rows: int) -> int:
    """How many chunks ``nrows`` rows make."""
    return -(-nrows // chunk_rows)


def _read_rows(dataset: h5py.Dataset, start: int, stop: int, out: np.ndarray) -> np.ndarray:
    """Rows ``[start, stop)`` into ``out[: stop - start]`` without type conversion."""
    count = stop - start
    target = out[:count]
    file_type = dataset.id.get_type()
    if dataset.ndim != 1 or file_type.get_size() != dataset.dtype.itemsize:
        # Unusual types (padded compounds, 2-D): let h5py convert.
        dataset.read_direct(target, np.s_[start:stop], np.s_[0:count])
        return target
    file_space = dataset.id.get_space()
    file_space.select_hyperslab((start,), (count,))
    memory_space = h5s.create_simple((count,))
    dataset.id.read(memory_space, file_space, target, mtype=file_type)
    return target


class _Reader:
    """Reads the columns of one key, chunk by chunk, from an open file."""

    def __init__(self, handle: h5py.File, layout: KeyLayout, max_object_bytes: int) -> None:
        self.layout = layout
        self.datasets: dict[str, h5py.Dataset] = {}
        self.objects: dict[str, np.ndarray] = {}
        for column in layout.columns:
            if column.dataset in self.datasets:
                continue
            dataset = handle[column.dataset]
            self.datasets[column.dataset] = dataset
            if column.dtype == "object":
                self.objects[column.dataset] = self._load_objects(dataset, max_object_bytes)

    def _load_objects(self, dataset: h5py.Dataset, max_object_bytes: int) -> np.ndarray:
        # pandas' fixed format pickles a whole string block as one object: it cannot be sliced.
        stored = dataset.id.get_storage_size()
        if stored > max_object_bytes:
            raise SourceError(
                f"string columns of this fixed-format key are one pickled block of "
                f"{stored / 2**20:,.0f} MiB, over the limit of {max_object_bytes / 2**20:,.0f} MiB",
                path=dataset.file.filename,
                key=self.layout.key,
                hint="raise sources.hdf5.max_object_mib, or re-write the key in table format "
                "(pandas: store.append(key, frame, format='table'), chunk by chunk)",
            )
        try:
            values = fixed_object_column(dataset[0])
        except (pickle.UnpicklingError, ValueError) as exc:
            raise SourceError(
                f"a string block of this fixed-format key cannot be read safely ({exc})",
                path=dataset.file.filename,
                key=self.layout.key,
                hint="re-write the key in table format (pandas: df.to_hdf(path, key=..., "
                "format='table')), which stores strings as plain bytes",
            ) from exc
        nrows = self.layout.nrows
        return values.reshape(nrows, -1) if values.shape[0] == nrows else values.T

    def read(self, start: int, stop: int) -> dict[str, np.ndarray]:
        blocks: dict[str, np.ndarray] = {}
        for path, dataset in self.datasets.items():
            if path in self.objects:
                blocks[path] = self.objects[path][start:stop]
            elif dataset.dtype.names is not None or dataset.ndim == 1:
                # A fresh buffer per chunk: columns are views into it, and the chunk may still
                # be in use (checks, quarantine text) while the next one is read.
                blocks[path] = _read_rows(
                    dataset, start, stop, np.empty(stop - start, dataset.dtype)
                )
            else:
                blocks[path] = dataset[start:stop]
        return {c.name: _column_view(blocks[c.dataset], c) for c in self.layout.columns}


def _column_view(block: np.ndarray, column: Column) -> np.ndarray:
    """The column's values in its block: a (strided) view, not a copy."""
    values = block[column.field] if column.field is not None else block
    if column.position is not None:
        values = values[:, column.position]
    return values


def iter_chunks(
    path: Path | str,
    layout: KeyLayout,
    *,
    chunk_rows: int,
    first_chunk: int = 0,
    max_object_bytes: int = 256 * 2**20,
) -> Iterator[RawChunk]:
    """Yield the rows of one key in chunks of ``chunk_rows``, from chunk ``first_chunk`` on.

    Args:
        path: The HDF5 file.
        layout: The key, as :func:`~marketlake.sources.hdf5_ticks.layout.describe_file` found it.
        chunk_rows: Rows per chunk (the last one may be shorter).
        first_chunk: Resume here (chunks before it are not read).
        max_object_bytes: Largest pickled string block (fixed format) loaded whole.

    Yields:
        One :class:`RawChunk` per chunk, in row order.

    Raises:
        SourceError: the file cannot be read (its message names the file, key and rows).
    """
    try:
        with h5py.File(path, "r") as handle:
            reader = _Reader(handle, layout, max_object_bytes)
            for number in range(first_chunk, chunk_count(layout.nrows, chunk_rows)):
                start = number * chunk_rows
                stop = min(start + chunk_rows, layout.nrows)
                yield RawChunk(number, start, stop, reader.read(start, stop))
    except (OSError, KeyError, ValueError) as exc:
        raise SourceError(
            f"cannot read the HDF5 file ({exc})",
            path=str(path),
            key=layout.key,
            hint="is the file complete (not still being copied)? `h5ls -r FILE` checks it",
        ) from exc
