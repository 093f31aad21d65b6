"""JSON records dropped into S3 by another system: prices, technical indicators, anomalies.

``listing`` finds the objects of a time window under ``YYYY/MM/DD/HH/`` prefixes and reads them
(never writes the lake), ``parse`` turns an object's bytes into records (NDJSON or an array, plain
or gzip, decided by content), ``check`` applies the rules and gives canonical silver rows, and
``sample`` writes a small tree for the demo. Composition with the lake lives in
``marketlake.ingest_s3json``.
"""

from typing import Literal

from marketlake.sources.s3_json.check import (
    Checked,
    check_anomalies,
    check_indicators,
    check_prices,
)
from marketlake.sources.s3_json.listing import Listed, S3JsonClient, listing_prefixes, parse_moment
from marketlake.sources.s3_json.parse import Record, parse_timestamp, read_records

SOURCE = "s3_json"
Kind = Literal["prices", "indicators", "anomalies"]
DATASET_OF: dict[str, str] = {
    "prices": "bars",
    "indicators": "indicators",
    "anomalies": "anomalies",
}

__all__ = [
    "DATASET_OF",
    "SOURCE",
    "Checked",
    "Kind",
    "Listed",
    "Record",
    "S3JsonClient",
    "check_anomalies",
    "check_indicators",
    "check_prices",
    "listing_prefixes",
    "parse_moment",
    "parse_timestamp",
    "read_records",
]
