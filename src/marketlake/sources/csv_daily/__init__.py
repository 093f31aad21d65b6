"""Yahoo-style daily OHLCV CSV exports (``Date,Open,High,Low,Close,Adj Close,Volume``)."""

from marketlake.sources.csv_daily.locate import locate_files, symbol_from_path
from marketlake.sources.csv_daily.parse import SOURCE, ParsedCsv, parse_daily_csv

__all__ = ["SOURCE", "ParsedCsv", "locate_files", "parse_daily_csv", "symbol_from_path"]
