"""Bodies of tabular routes: JSON, CSV, Arrow IPC stream or Parquet, by ``format=`` or Accept."""

from __future__ import annotations

import io
import json
from typing import Any, Literal

import polars as pl
from fastapi import Response

Format = Literal["json", "csv", "arrow", "parquet"]

MEDIA: dict[Format, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "arrow": "application/vnd.apache.arrow.stream",
    "parquet": "application/vnd.apache.parquet",
}
_ACCEPTED: dict[str, Format] = {
    "application/json": "json",
    "text/csv": "csv",
    "application/vnd.apache.arrow.stream": "arrow",
    "application/vnd.apache.arrow.file": "arrow",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
}
# The OpenAPI ``content`` of a tabular 200 response besides JSON.
BINARY_CONTENT: dict[str, Any] = {
    "text/csv": {"schema": {"type": "string"}},
    MEDIA["arrow"]: {"schema": {"type": "string", "format": "binary"}},
    MEDIA["parquet"]: {"schema": {"type": "string", "format": "binary"}},
}


def choose_format(explicit: Format | None, accept: str | None) -> Format:
    """``format=`` wins; else the first media type of ``Accept`` we serve; else JSON."""
    if explicit is not None:
        return explicit
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in _ACCEPTED:
            return _ACCEPTED[media]
    return "json"


def _json_ready(frame: pl.DataFrame) -> pl.DataFrame:
    # ISO text for instants and days (UTC, "Z"); NaN is not JSON, so it becomes null.
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            exprs.append(
                pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
            )
        elif dtype == pl.Date:
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype.is_float():
            exprs.append(pl.col(name).fill_nan(None))
    return frame.with_columns(exprs) if exprs else frame


def table_response(
    frame: pl.DataFrame, fmt: Format, *, envelope: dict[str, Any], next_cursor: str | None
) -> Response:
    """The page ``frame`` in ``fmt``.

    JSON wraps the rows with ``envelope`` and ``next_cursor``; the other formats carry the
    rows alone and the cursor in the ``X-Next-Cursor`` header (absent on the last page).
    """
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    if fmt == "json":
        head = {**envelope, "count": frame.height, "next_cursor": next_cursor}
        rows = _json_ready(frame).write_json() if frame.height else "[]"
        body = json.dumps(head)[:-1] + f', "rows": {rows}}}'
        return Response(body, media_type=MEDIA["json"], headers=headers)
    if fmt == "csv":
        return Response(frame.write_csv(), media_type=MEDIA["csv"], headers=headers)
    sink = io.BytesIO()
    if fmt == "arrow":
        frame.write_ipc_stream(sink)
    else:
        frame.write_parquet(sink, compression="zstd")
    return Response(sink.getvalue(), media_type=MEDIA[fmt], headers=headers)
