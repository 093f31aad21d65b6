"""``marketlake serve``: the HTTP API (FastAPI on uvicorn) over gold and silver."""

from __future__ import annotations

from typing import Annotated

import typer

from marketlake.cli import state


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (setting api.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", min=0, max=65535, help="TCP port (setting api.port)."),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs); Ctrl-C stops it."""
    import uvicorn

    from marketlake.serve.api import create_app

    settings = state.settings()
    bind_host = host or settings.api.host
    bind_port = settings.api.port if port is None else port
    app = create_app(settings)
    state.console().print(
        f"serving {settings.gold_uri} and {settings.lake_uri} on http://{bind_host}:{bind_port}"
        " (docs at /docs)",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="warning")
