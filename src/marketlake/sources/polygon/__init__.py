"""Polygon.io / Massive flat files (S3): trades, quotes, minute and day aggregates.

``keys`` knows the two key layouts, ``client`` lists and downloads (never writes the lake),
``parse`` turns gzip CSV bytes into a typed frame and ``check`` applies the rules and gives the
canonical silver rows. Composition with the lake lives in ``marketlake.ingest_polygon``.
"""

from marketlake.sources.polygon.check import Checked, check_flat_file
from marketlake.sources.polygon.keys import KINDS, SILVER_OF, FlatFile, parse_key
from marketlake.sources.polygon.parse import read_flat_file

SOURCE = "polygon"

__all__ = [
    "KINDS",
    "SILVER_OF",
    "SOURCE",
    "Checked",
    "FlatFile",
    "check_flat_file",
    "parse_key",
    "read_flat_file",
]
