"""Read routes over HTTP agree with gold's Parquet exports and the silver loader."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import ipc

from marketlake.lake.silver import read_quarantine
from marketlake.lake.store import open_lake
from marketlake.ops.ledger import read_ledger
from marketlake.serve.loader import read_bars

from .support import Served, client

pytestmark = pytest.mark.integration


def gold(served: Served, model: str) -> pl.DataFrame:
    """A mart straight from its Parquet export."""
    return pl.read_parquet(Path(served.settings.gold_uri) / f"{model}.parquet")


def as_json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as the API's JSON spells them (ISO days and UTC instants)."""
    out = []
    for row in frame.to_dicts():
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                text = value.isoformat()
                row[key] = text.replace("+00:00", "Z") if "T" in text else text
        out.append(row)
    return out


def normalise_instants(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Instants parsed back so 14:30:00Z and 14:30:00.000000Z compare equal."""
    from datetime import datetime

    for row in rows:
        for key in keys:
            row[key] = datetime.fromisoformat(row[key].replace("Z", "+00:00"))
    return rows


def all_pages(served: Served, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow next_cursor to the end; returns the rows and the number of pages."""
    rows: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    with client(served) as http:
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            reply = http.get(path, params=query)
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["count"] == len(body["rows"])
            rows += body["rows"]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                return rows, pages


def test_health_says_gold_is_built(api: Served) -> None:
    with client(api) as http:
        body = http.get("/health").json()
    assert body["status"] == "ok"
    assert body["gold"] is True


def test_symbols_are_the_current_dim_symbol_rows(api: Served) -> None:
    with client(api) as http:
        body = http.get("/symbols").json()
    current = gold(api, "dim_symbol").filter(pl.col("is_current")).sort("symbol")
    assert [s["symbol"] for s in body] == current["symbol"].to_list()
    expected = as_json_rows(current)
    for got, want in zip(body, expected, strict=True):
        assert got["trading_days"] == want["trading_days"]
        assert got["first_session_date"] == want["first_session_date"]
        assert got["last_session_date"] == want["last_session_date"]


@pytest.mark.parametrize("symbol", ["AAA", "BRK.B", "X:BTCUSD"])
def test_bar_pages_return_every_silver_bar_exactly_once(api: Served, symbol: str) -> None:
    rows, pages = all_pages(api, f"/bars/{symbol}", limit=97)
    expected = read_bars(symbol, interval="1d", settings=api.settings)
    assert pages == -(-expected.height // 97)
    assert len(rows) == expected.height
    got = pl.DataFrame(normalise_instants(rows, "ts_event")).select(
        "ts_event", "ingest_id", "close"
    )
    want = expected.select("ts_event", "ingest_id", "close")
    assert got["ingest_id"].to_list() == want["ingest_id"].to_list()
    assert got["close"].to_list() == want["close"].to_list()
    assert [t.timestamp() for t in got["ts_event"]] == [
        t.timestamp() for t in want["ts_event"].to_list()
    ]


def test_overlapping_deliveries_page_exactly_with_a_page_of_one(api: Served) -> None:
    # AAA's two exports share bar open times in 2022-H1: one bar per time, the later export's.
    rows, _ = all_pages(api, "/bars/AAA", limit=1, **{"from": "2021-12-01", "to": "2022-01-31"})
    expected = read_bars("AAA", "2021-12-01", "2022-01-31", interval="1d", settings=api.settings)
    assert len({r["ts_event"] for r in rows}) == len(rows) == expected.height
    assert [(r["ingest_id"], r["session_date"]) for r in rows] == list(
        zip(expected["ingest_id"].to_list(), map(str, expected["session_date"]), strict=True)
    )
    assert len({r["ingest_id"] for r in rows}) == 2  # December from the old, January the new


def test_one_year_by_dates_matches_the_loader(api: Served) -> None:
    rows, _ = all_pages(api, "/bars/BBB", **{"from": "2021-01-01", "to": "2021-12-31"})
    expected = read_bars("BBB", "2021-01-01", "2021-12-31", interval="1d", settings=api.settings)
    assert [r["session_date"] for r in rows] == [str(d) for d in expected["session_date"]]
    assert rows[0]["session_date"].startswith("2021-01")
    assert rows[-1]["session_date"].startswith("2021-12")


def test_minute_bars_by_interval(api: Served) -> None:
    rows, _ = all_pages(api, "/bars/BBB", interval="1m")
    expected = read_bars("BBB", interval="1m", settings=api.settings)
    assert len(rows) == expected.height > 0
    assert {r["interval"] for r in rows} == {"1m"}


@pytest.mark.parametrize(
    ("how", "value"),
    [
        ("format", "csv"),
        ("format", "arrow"),
        ("format", "parquet"),
        ("accept", "text/csv"),
        ("accept", "application/vnd.apache.arrow.stream"),
        ("accept", "application/vnd.apache.parquet"),
    ],
)
def test_each_format_round_trips(api: Served, how: str, value: str) -> None:
    params = {"limit": 40, "from": "2020-03-01"}
    headers = {}
    if how == "format":
        params["format"] = value
    else:
        headers["Accept"] = value
    with client(api) as http:
        reply = http.get("/bars/AAA", params=params, headers=headers)
        as_json = http.get("/bars/AAA", params={"limit": 40, "from": "2020-03-01"}).json()
    assert reply.status_code == 200, reply.text
    kind = value.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    if kind == "csv":
        table = pl.read_csv(io.BytesIO(reply.content)).to_arrow()
    elif kind in {"arrow", "stream"}:
        table = ipc.open_stream(reply.content).read_all()
    else:
        table = pq.read_table(pa.BufferReader(reply.content))
    assert table.num_rows == 40 == as_json["count"]
    assert table.column("close").to_pylist() == [r["close"] for r in as_json["rows"]]
    assert table.column("ingest_id").to_pylist() == [r["ingest_id"] for r in as_json["rows"]]
    assert reply.headers["X-Next-Cursor"] == as_json["next_cursor"]
    if kind != "csv":
        assert table.schema.field("ts_event").type == pa.timestamp("ns", tz="UTC")


@pytest.mark.parametrize("period", ["weekly", "monthly", "quarterly", "yearly"])
def test_aggregates_equal_the_gold_marts(api: Served, period: str) -> None:
    with client(api) as http:
        body = http.get("/aggregates/BRK.B", params={"period": period}).json()
    mart = gold(api, f"agg_bars_{period}").filter(pl.col("symbol") == "BRK.B")
    expected = as_json_rows(mart.sort("period_start").drop("symbol_key"))
    assert body == expected


def test_aggregates_from_to_select_on_period_start(api: Served) -> None:
    with client(api) as http:
        body = http.get(
            "/aggregates/AAA",
            params={"period": "monthly", "from": "2021-01-01", "to": "2021-06-30"},
        ).json()
    assert [r["period_label"] for r in body] == [f"2021-{m:02d}" for m in range(1, 7)]


def test_indicators_and_anomalies_equal_gold(api: Served) -> None:
    with client(api) as http:
        indicators = http.get("/indicators/AAA", params={"from": "2022-06-01"}).json()
        anomalies = http.get("/anomalies/AAA").json()
    mart = gold(api, "fct_indicators_daily").filter(
        (pl.col("symbol") == "AAA") & (pl.col("session_date") >= pl.date(2022, 6, 1))
    )
    expected = as_json_rows(mart.sort("session_date").drop("indicator_key"))
    assert len(indicators) == len(expected) > 100
    for got, want in zip(indicators, expected, strict=True):
        assert got == {k: want[k] for k in got}
    flagged = gold(api, "fct_anomalies").filter(pl.col("symbol") == "AAA")
    assert len(anomalies) == flagged.height
    assert sorted(a["session_date"] for a in anomalies) == sorted(
        str(d) for d in flagged["session_date"]
    )


def test_information_bars_page_through_fct_bars_info(api: Served) -> None:
    rows, pages = all_pages(api, "/bars-info/ES", kind="volume", limit=10)
    mart = gold(api, "fct_bars_info").filter(
        (pl.col("symbol") == "ES") & (pl.col("kind") == "volume")
    )
    assert mart.height > 10
    assert pages == -(-mart.height // 10)
    got = [(r["series_key"], r["bar_number"]) for r in rows]
    assert len(set(got)) == len(got)
    assert sorted(got) == sorted(
        zip(mart["series_key"].to_list(), mart["bar_number"].to_list(), strict=True)
    )
    assert {r["kind"] for r in rows} == {"volume"}


def test_quality_summarises_the_quarantine(api: Served) -> None:
    with client(api) as http:
        body = http.get("/quality").json()
    table = pl.from_arrow(read_quarantine(open_lake(api.settings)))
    assert isinstance(table, pl.DataFrame)
    assert body["total"] == table.height == 3
    by_rule = {(r["dataset"], r["rule_id"]): r for r in body["rules"]}
    assert by_rule[("bars", "price.range")]["rows"] == 2
    assert by_rule[("bars", "record.malformed")]["rows"] == 1
    example = by_rule[("bars", "record.malformed")]["examples"][0]
    assert example["raw"] == '{"line": "x,y"}'
    assert example["source_row"] == 6


def test_runs_list_the_ledger(api: Served) -> None:
    with client(api) as http:
        body = http.get("/runs", params={"limit": 5}).json()
    ledger = read_ledger(open_lake(api.settings), last_runs=5)
    assert {r["run_id"] for r in body} >= {row.run_id for row in ledger}
    steps = {s["step"] for r in body for s in r["steps"]}
    assert {"build", "export"} <= steps
