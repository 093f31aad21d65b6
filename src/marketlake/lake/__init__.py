"""The lake: bronze (raw, content-addressed) and silver (validated Parquet), through fsspec."""

from marketlake.lake.store import Lake, open_lake

__all__ = ["Lake", "open_lake"]
