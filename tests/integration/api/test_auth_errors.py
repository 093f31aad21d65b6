"""Tokens, closed reads, JSON errors with the right 4xx, and a build while the API serves."""

from __future__ import annotations

import os
import time

import polars as pl
import pytest

from marketlake.config import Settings

from .support import TOKEN, Served, client, serve

pytestmark = pytest.mark.integration

READS = ["/symbols", "/bars/AAA", "/aggregates/AAA", "/indicators/AAA", "/quality", "/runs"]


def test_admin_route_needs_the_token(api: Served) -> None:
    with client(api) as http:
        missing = http.post("/runs")
        wrong = http.post("/runs", headers={"Authorization": "Bearer nope"})
    assert missing.status_code == 401
    assert missing.json()["error"] == "token required"
    assert "Bearer" in missing.headers["WWW-Authenticate"]
    assert wrong.status_code == 403
    assert TOKEN not in wrong.text


def test_closed_reads_need_the_token_but_health_does_not(api_settings: Settings) -> None:
    closed = api_settings.model_copy(
        update={"api": api_settings.api.model_copy(update={"open_reads": False})}
    )
    with serve(closed) as served:
        with client(served) as http:
            assert http.get("/health").status_code == 200
            for path in READS:
                assert http.get(path).status_code == 401, path
                bad = http.get(path, headers={"Authorization": "Bearer nope"})
                assert bad.status_code == 403, path
        with client(served, token=TOKEN) as http:
            for path in READS:
                assert http.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/bars/NOPE", {}, 404, "unknown symbol 'NOPE'"),
        ("/aggregates/NOPE", {}, 404, "unknown symbol"),
        ("/indicators/NOPE", {}, 404, "unknown symbol"),
        ("/anomalies/NOPE", {}, 404, "unknown symbol"),
        ("/bars-info/NOPE", {}, 404, "unknown symbol"),
        ("/bars/AAA", {"interval": "7x"}, 422, "invalid interval '7x'"),
        ("/bars/AAA", {"from": "2021-02-30"}, 422, "YYYY-MM-DD"),
        ("/bars/AAA", {"to": "yesterday"}, 422, "YYYY-MM-DD"),
        ("/bars/AAA", {"from": "2022-01-02", "to": "2021-01-01"}, 422, "not before"),
        ("/bars/AAA", {"cursor": "garbage!"}, 422, "invalid cursor"),
        ("/bars/AAA", {"limit": 0}, 422, "limit"),
        ("/bars/AAA", {"format": "xml"}, 422, "format"),
        ("/aggregates/AAA", {"period": "daily"}, 422, "period"),
        ("/indicators/AAA", {"from": "2021-99-01"}, 422, "YYYY-MM-DD"),
        ("/runs", {"limit": "many"}, 422, "limit"),
        ("/bars/A*B", {}, 422, "symbol"),
        ("/nowhere", {}, 404, "Not Found"),
    ],
)
def test_bad_input_is_a_json_4xx(
    api: Served, path: str, params: dict[str, object], status: int, words: str
) -> None:
    with client(api) as http:
        reply = http.get(path, params=params)
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "detail"}
    assert words in body["detail"]


def test_a_build_triggered_over_http_runs_while_reads_keep_answering(api: Served) -> None:
    with client(api) as http:
        before = http.get("/bars/AAA", params={"limit": 50}).json()
        started = http.post("/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        again = http.post("/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        statuses = set()
        reads = 0
        for _ in range(3000):  # bounded: a build of the sample takes well under a minute
            runs = {r["run_id"]: r for r in http.get("/runs").json()}
            statuses.add(runs[run_id]["status"] if run_id in runs else "unlisted")
            for path in ("/symbols", "/aggregates/AAA", "/indicators/AAA"):
                assert http.get(path).status_code == 200, path
            page = http.get("/bars/AAA", params={"limit": 50}).json()
            assert page["rows"] == before["rows"]
            reads += 1
            if run_id in runs and runs[run_id]["status"] != "running":
                break
            time.sleep(0.1)
    assert again.status_code == 409
    assert "running" in statuses
    finished = runs[run_id]
    assert finished["status"] == "ok", finished
    assert [s["step"] for s in finished["steps"]] == ["build", "export"]
    assert reads > 1


def test_a_rebuilt_export_is_served_without_a_restart(api: Served) -> None:
    path = f"{api.settings.gold_uri}/dim_symbol.parquet"
    original = pl.read_parquet(path)
    with client(api) as http:
        assert len(http.get("/symbols").json()) == original.filter("is_current").height
        # Replace the export atomically, as `marketlake build` does, with one symbol fewer.
        tmp = f"{api.settings.gold_uri}/.tmp-test-dim_symbol.parquet"
        original.filter(pl.col("symbol") != "AAA").write_parquet(tmp)
        try:
            os.replace(tmp, path)
            symbols = [s["symbol"] for s in http.get("/symbols").json()]
            assert "AAA" not in symbols
            assert http.get("/indicators/AAA").status_code == 404
        finally:
            original.write_parquet(tmp)
            os.replace(tmp, path)
        assert "AAA" in [s["symbol"] for s in http.get("/symbols").json()]


def test_openapi_docs_are_served_with_response_models(api: Served) -> None:
    with client(api) as http:
        assert "swagger" in http.get("/docs").text.lower()
        spec = http.get("/openapi.json").json()
    bars = spec["paths"]["/bars/{symbol}"]["get"]["responses"]
    assert bars["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BarsPage"
    }
    assert set(bars["200"]["content"]) >= {"text/csv", "application/vnd.apache.parquet"}
    assert bars["404"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    assert spec["paths"]["/runs"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in spec["paths"]["/runs"]["get"]
