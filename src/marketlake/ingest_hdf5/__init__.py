"""Ingest HDF5 tick files into silver ``trades`` (``marketlake ingest hdf5``).

- :mod:`~marketlake.ingest_hdf5.land`: the file lands in bronze once (hard link or streamed copy);
- :mod:`~marketlake.ingest_hdf5.pipeline`: each key is read, checked and written chunk by chunk,
  reading, checking and Parquet encoding overlapping, memory bounded, resumable;
- :mod:`~marketlake.ingest_hdf5.flow`: composes both with the ledger, key by key.
"""

from marketlake.ingest_hdf5.flow import Hdf5Report, KeyResult, ingest_hdf5, list_hdf5
from marketlake.ingest_hdf5.land import OnProgress, file_sha256, land_file
from marketlake.ingest_hdf5.pipeline import DATASET, publish_key, source_of

__all__ = [
    "DATASET",
    "Hdf5Report",
    "KeyResult",
    "OnProgress",
    "file_sha256",
    "ingest_hdf5",
    "land_file",
    "list_hdf5",
    "publish_key",
    "source_of",
]
