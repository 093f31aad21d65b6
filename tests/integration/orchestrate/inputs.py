"""Small generated inputs of every source, and settings whose ``ops.run`` reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from marketlake.config import Settings, load_settings
from marketlake.sources.alphavantage.sample import write_alphavantage_payloads
from marketlake.sources.csv_daily.sample import write_daily_csvs
from marketlake.sources.hdf5_ticks.sample import write_es_h5
from marketlake.sources.polygon.sample import SAMPLE_DATASETS, write_flat_files
from marketlake.sources.reference.sample import write_reference_files
from marketlake.sources.s3_json.sample import INTERVAL, write_s3json_tree

DAY = date(2024, 1, 2)  # the first day of the Polygon and S3 JSON samples


def polygon_sample(root: Path, days: int) -> Path:
    """Small Polygon flat files of every stock dataset from ``DAY`` on."""
    write_flat_files(root, start=DAY, days=days, trades_per_symbol_day=60,
                     quotes_per_symbol_day=40, crypto_minutes=0)  # fmt: skip
    return root


def every_source(root: Path) -> dict[str, Any]:
    """Write a small sample of every source under ``root``; return ``ops.run`` reading them."""
    csv = write_daily_csvs(root / "csv", symbols=("AAPL", "MSFT"), start=date(2023, 10, 2),
                           end=date(2023, 12, 29))  # fmt: skip
    ref = write_reference_files(root / "reference")
    av = write_alphavantage_payloads(root / "av", ("IBM",), start=date(2023, 10, 2),
                                     end=date(2024, 1, 10))  # fmt: skip
    tree = write_s3json_tree(root / "s3_json")
    es = root / "hdf5" / "ES.h5"
    write_es_h5(es, trades=12_000, trades_per_day=1_000, faults=3, seed=5)
    second = datetime.combine(ref.second_as_of, datetime.min.time(), tzinfo=UTC)
    return {
        "sources": {
            "csv_daily": {"paths": [str(p) for p in csv.files]},
            "reference": {"files": [{"path": str(ref.first)},
                                    {"path": str(ref.second), "as_of": second.isoformat()}]},
            "alphavantage": {"files": [str(p) for p in av.files]},
            "s3_json": {"feeds": [{"url": str(tree.root / k), "kind": k, "interval": INTERVAL}
                                  for k in ("prices", "indicators", "anomalies")]},
            "polygon": {"datasets": [d for d in SAMPLE_DATASETS if d.startswith("us_stocks")],
                        "uri": str(polygon_sample(root / "polygon", days=2))},
            "hdf5": {"files": [str(es)]},
        },
        "bars": [{"kind": "tick", "threshold": 200}, {"kind": "time", "interval": "1h"}],
        "continuous": [{"root": "ES"}],
        "report": False,
    }  # fmt: skip


def configured(data_dir: Path, run: dict[str, Any], **ops: Any) -> Settings:
    """Settings of ``data_dir`` with ``ops.run`` = ``run``, daily partitions from 2024."""
    dagster = {"partitions_start": "2024-01-01", **ops.pop("dagster", {})}
    return load_settings(data_dir=data_dir, ops={"run": run, "dagster": dagster, **ops})


def parquet_tree(root: Path) -> dict[str, pa.Table]:
    """Every Parquet file under ``root`` by relative path, rows sorted (order is not content)."""
    out = {}
    for path in sorted(root.rglob("*.parquet")):
        table = pq.read_table(path)
        keys = [(c, "ascending") for c in table.column_names
                if not pa.types.is_nested(table.schema.field(c).type)]  # fmt: skip
        out[str(path.relative_to(root))] = table.sort_by(keys) if keys else table
    return out
