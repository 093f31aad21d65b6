"""A small, deterministic tree of JSON records as another system drops them (for the demo).

``<root>/{prices,indicators,anomalies}/YYYY/MM/DD/HH/part-000.<ext>``: four hours over two days,
NDJSON and arrays, plain and gzip, with a few faulty records. The same call writes the same bytes
(gzip without a timestamp; unchanged files are not rewritten), so ingesting again reads nothing
new. Each fault is listed with its object, record and the rule that must catch it.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SYMBOLS = ("AAPL", "MSFT", "BRK.B", "ESZ4", "X:BTCUSD")
START_PRICES = {"AAPL": 185.0, "MSFT": 370.0, "BRK.B": 360.0, "ESZ4": 4750.0, "X:BTCUSD": 42000.0}
HOURS = (
    datetime(2024, 1, 2, 14, tzinfo=UTC),
    datetime(2024, 1, 2, 15, tzinfo=UTC),
    datetime(2024, 1, 3, 14, tzinfo=UTC),
    datetime(2024, 1, 3, 15, tzinfo=UTC),
)
INTERVAL = "15m"  # price records: one bar per symbol every 15 minutes
# (ndjson?, gzip?) per hour: every combination once
SHAPES = ((True, True), (False, False), (True, False), (False, True))


@dataclass(frozen=True)
class Fault:
    """One faulty record written into the tree, and the rule that must catch it."""

    kind: str
    key: str  # relative to the kind's folder
    source_row: int
    rule_id: str


@dataclass
class SampleTree:
    """What :func:`write_s3json_tree` wrote."""

    root: Path
    files: list[Path] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)  # per kind, faulty ones included

    @property
    def start(self) -> datetime:
        """The first hour of the tree."""
        return HOURS[0]

    @property
    def end(self) -> datetime:
        """The end of the last hour of the tree."""
        return HOURS[-1] + timedelta(minutes=59, seconds=59)


def _encode(lines: list[str], *, ndjson: bool, zipped: bool) -> bytes:
    text = "\n".join(lines) + "\n" if ndjson else "[\n" + ",\n".join(lines) + "\n]\n"
    data = text.encode()
    return gzip.compress(data, mtime=0) if zipped else data


def _write(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return  # same bytes: keep the file (and its modification time)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _prices(rng: random.Random, hour: datetime, last: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for minute in range(0, 60, 15):
        ts = hour + timedelta(minutes=minute)
        for symbol in SYMBOLS:
            open_ = last[symbol]
            close = round(open_ * (1 + rng.gauss(0, 0.002)), 2)
            high = round(max(open_, close) * (1 + abs(rng.gauss(0, 0.001))), 2)
            low = round(min(open_, close) * (1 - abs(rng.gauss(0, 0.001))), 2)
            last[symbol] = close
            stamp: Any = ts.isoformat().replace("+00:00", "Z")
            if symbol == "ESZ4":
                stamp = int(ts.timestamp() * 1000)  # epoch milliseconds
            volume = round(rng.uniform(0.5, 3.0), 4) if symbol.startswith("X:") else rng.randint(
                1_000, 50_000)  # fmt: skip
            out.append({"symbol": symbol, "timestamp": stamp, "open": open_, "high": high,
                        "low": low, "close": close, "volume": volume})  # fmt: skip
    return out


def write_s3json_tree(root: Path, *, seed: int = 11) -> SampleTree:
    """Write the sample tree under ``root`` (``root/prices``, ``root/indicators``...).

    Args:
        root: The folder to write in (created when missing).
        seed: Seed of the random walk of prices.

    Returns:
        The files written, the faults injected and the record counts.
    """
    rng = random.Random(seed)
    tree = SampleTree(root=root)
    last = dict(START_PRICES)
    for i, (hour, (ndjson, zipped)) in enumerate(zip(HOURS, SHAPES, strict=True)):
        key = f"{hour:%Y/%m/%d/%H}/part-000." + ("ndjson" if ndjson else "json") + (
            ".gz" if zipped else "")  # fmt: skip
        prices = [_dump(r) for r in _prices(rng, hour, last)]
        indicators, anomalies = [], []
        for j, symbol in enumerate(SYMBOLS):
            stamp = (hour + timedelta(minutes=45)).isoformat()
            value = last[symbol]
            indicators.append(_dump({
                "symbol": symbol, "timestamp": stamp, "rsi": round(30 + 8 * j + i, 2),
                "macd": round(rng.gauss(0, 1), 4), "macd_signal": round(rng.gauss(0, 1), 4),
                "sma_20": round(value * 0.99, 2), "ema_12": round(value * 1.01, 2),
                "sma_200": None if i < 2 else round(value * 0.95, 2),
            }))  # fmt: skip
        anomalies.append(_dump({
            "symbol": SYMBOLS[i], "timestamp": f"{hour:%Y-%m-%dT%H}:30:00-05:00",
            "type": "volume_spike", "score": round(5 + i * 0.5, 2), "severity": "warning",
            "window": 20, "detector": "zscore-v2",
        }))  # fmt: skip
        if i == 2:  # the faulty hour (NDJSON, so a broken line keeps the rest)
            broken = '{"symbol":"AAPL","timestamp":"2024-01-03T14:59:00Z","open":1'
            faulty = [
                (broken, "record.malformed"),
                (_dump({"symbol": "msft", "timestamp": "2024-01-03T14:59:00Z", "open": 1,
                        "high": 2, "low": 1, "close": 2, "volume": 5}), "symbol.invalid"),
                (_dump({"symbol": "MSFT", "timestamp": "2024-01-03T14:59:00Z", "open": 370,
                        "high": 371, "low": 369, "close": 370, "volume": -5}), "volume.negative"),
                (_dump({"symbol": "IBM", "timestamp": "2024-01-03T14:59:00Z", "open": 160,
                        "high": 150, "low": 155, "close": 158, "volume": 5}), "ohlc.inconsistent"),
                (_dump({"symbol": "IBM", "timestamp": "yesterday", "open": 160, "high": 161,
                        "low": 159, "close": 160, "volume": 5}), "ts.invalid"),
                (_dump({"symbol": "IBM", "timestamp": "2024-01-03T14:58:00Z", "open": 160,
                        "high": 161, "low": 159, "close": "n/a", "volume": 5}),
                 "value.unparseable"),
            ]  # fmt: skip
            for line, rule in faulty:
                prices.append(line)
                tree.faults.append(Fault("prices", key, len(prices), rule))
            indicators.append(_dump({"symbol": "IBM", "timestamp": "2024-01-03T14:45:00Z",
                                     "rsi": 120.5, "sma_20": 150.0}))  # fmt: skip
            tree.faults.append(Fault("indicators", key, len(indicators), "indicator.range"))
            anomalies.append(_dump({"symbol": "IBM", "timestamp": "2024-01-03T14:10:00Z",
                                    "score": 3.0}))  # fmt: skip
            tree.faults.append(Fault("anomalies", key, len(anomalies), "record.malformed"))
        for kind, lines in (("prices", prices), ("indicators", indicators),
                            ("anomalies", anomalies)):  # fmt: skip
            path = root / kind / key
            _write(path, _encode(lines, ndjson=ndjson, zipped=zipped))
            tree.files.append(path)
            tree.records[kind] = tree.records.get(kind, 0) + len(lines)
    return tree
