"""HDF5 tick files (pandas HDFStore table/fixed, plain h5py): layout detection, chunked reading,
columnar checks, Arrow tables for silver ``trades``, and ES-like sample files.

Everything here is pure or reads the source file only; landing in bronze and writing silver is
:mod:`marketlake.ingest_hdf5`'s job.
"""

from marketlake.sources.hdf5_ticks.check import CheckedChunk, CheckRules, check_chunk
from marketlake.sources.hdf5_ticks.frame import Part, quarantined_rows, silver_parts
from marketlake.sources.hdf5_ticks.layout import Column, KeyLayout, describe_file
from marketlake.sources.hdf5_ticks.read import RawChunk, chunk_count, iter_chunks
from marketlake.sources.hdf5_ticks.select import describe_keys, select_keys

SOURCE = "hdf5_ticks"

__all__ = [
    "SOURCE",
    "CheckRules",
    "CheckedChunk",
    "Column",
    "KeyLayout",
    "Part",
    "RawChunk",
    "check_chunk",
    "chunk_count",
    "describe_file",
    "describe_keys",
    "iter_chunks",
    "quarantined_rows",
    "select_keys",
    "silver_parts",
]
