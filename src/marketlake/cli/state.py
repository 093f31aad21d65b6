"""Process state of one CLI invocation: global options, settings, console, error output."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from rich.console import Console

    from marketlake.config import Settings

_options: dict[str, Any] = {"debug": "--debug" in sys.argv}


def configure(*, debug: bool, data_dir: Path | None, config: Path | None) -> None:
    """Remember the global options and set up logging."""
    _options.update(debug=debug or _options["debug"], data_dir=data_dir)
    if config is not None:
        os.environ["MARKETLAKE_CONFIG"] = str(config)
    level = logging.DEBUG if _options["debug"] else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def settings() -> Settings:
    """The settings of this invocation (file + environment + ``--data-dir``)."""
    from marketlake.config import load_settings

    overrides = {"data_dir": _options["data_dir"]} if _options.get("data_dir") else {}
    loaded = load_settings(**overrides)
    if loaded.ops.log_format == "json" and _options.get("log_format") != "json":
        # One JSON object per event on stderr (a ledger row, a step of `run`), from INFO on.
        from marketlake.ops.logs import configure_logging

        configure_logging("json", level=logging.DEBUG if _options["debug"] else logging.INFO)
        _options["log_format"] = "json"
    return loaded


def console(*, stderr: bool = False) -> Console:
    """A rich console (stdout by default)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output (logs, CI, tests) gets a wide page instead of rich's 80 columns.
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, width=width)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red line and exit."""
    from rich.markup import escape

    console(stderr=True).print(f"[bold red]error:[/] [red]{escape(message)}[/]")
    sys.exit(code)


def fail_with(exc: BaseException) -> NoReturn:
    """Turn an exception into one red line (and a traceback with --debug)."""
    from marketlake.errors import MarketLakeError

    if _options["debug"]:
        traceback.print_exception(exc)
    if isinstance(exc, MarketLakeError):
        fail(str(exc))
    fail(
        f"unexpected {type(exc).__name__}: {exc} — run again with --debug for the traceback "
        "and report it"
    )
