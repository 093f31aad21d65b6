"""Reference data of symbols (name, asset class, exchange, currency, sector, industry)."""

from marketlake.sources.reference.parse import (
    DATASET,
    SOURCE,
    ParsedReference,
    format_of,
    parse_as_of,
    parse_reference,
)

__all__ = ["DATASET", "SOURCE", "ParsedReference", "format_of", "parse_as_of", "parse_reference"]
