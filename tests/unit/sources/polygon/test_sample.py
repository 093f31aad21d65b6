"""The sample flat files: vendor-exact, deterministic, and every fault caught by its rule."""

from __future__ import annotations

import gzip
from pathlib import Path

from marketlake.sources.polygon import check_flat_file, parse_key, read_flat_file
from marketlake.sources.polygon.keys import SILVER_OF
from marketlake.sources.polygon.sample import HEADERS, write_flat_files


def test_the_sample_is_deterministic_and_in_the_vendor_layout(tmp_path: Path) -> None:
    a = write_flat_files(tmp_path / "a", days=2, trades_per_symbol_day=50, quotes_per_symbol_day=50)
    b = write_flat_files(tmp_path / "b", days=2, trades_per_symbol_day=50, quotes_per_symbol_day=50)

    keys = [p.relative_to(a.root).as_posix() for p in a.files]
    assert [p.relative_to(b.root).as_posix() for p in b.files] == keys
    assert all(pa.read_bytes() == pb.read_bytes() for pa, pb in zip(a.files, b.files, strict=True))
    assert "us_stocks_sip/trades_v1/2024/01/2024-01-02.csv.gz" in keys
    assert "global_crypto/minute_aggs_v1/2024/01/2024-01-03.csv.gz" in keys
    assert all(parse_key(k) is not None for k in keys)


def test_every_injected_fault_is_caught_by_its_rule_at_its_line(tmp_path: Path) -> None:
    sample = write_flat_files(
        tmp_path, days=3, trades_per_symbol_day=100, quotes_per_symbol_day=100
    )
    found: set[tuple[str, int, str]] = set()
    flagged: dict[str, int] = {}
    for path in sample.files:
        key = path.relative_to(sample.root).as_posix()
        flat = parse_key(key)
        assert flat is not None
        data = path.read_bytes()
        parsed = read_flat_file(data, kind=flat.kind, path=key)
        assert gzip.decompress(data).split(b"\n", 1)[0].decode() == HEADERS[flat.kind]
        checked = check_flat_file(
            parsed, kind=flat.kind, dataset=SILVER_OF[flat.kind][0], source="polygon",
            ingest_id="s", price_max=1e6,
        )  # fmt: skip
        q = checked.quarantined.to_pylist()
        found |= {(key, r["source_row"], r["rule_id"]) for r in q}
        for rule, n in checked.flagged_by_rule.items():
            flagged[rule] = flagged.get(rule, 0) + n

    expected = {(f.key, f.line, f.rule_id) for f in sample.faults if f.kind == "quarantine"}
    assert found == expected
    assert flagged.get("quote.crossed", 0) >= sum(
        f.rule_id == "quote.crossed" for f in sample.faults
    )
    assert {f.rule_id for f in sample.faults} >= {
        "size.invalid",
        "quote.crossed",
        "ohlc.inconsistent",
    }
