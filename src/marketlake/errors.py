"""The one error hierarchy of marketlake.

Every error carries structured context (``source``, ``path``, ``symbol``, ``row``...) and a ``hint``
saying what the user can do. Errors are either *transient* (worth retrying: a network blip, a lock
held by another process) or *terminal* (retrying cannot help: bad input, a missing file, a failed
model). Only the CLI and the API turn these into messages or HTTP codes.
"""

from __future__ import annotations

from typing import Any


class MarketLakeError(Exception):
    """Base of every error marketlake raises on purpose.

    Args:
        message: What went wrong, in one sentence.
        hint: What the user can do about it.
        **context: Where it went wrong (``path``, ``source``, ``symbol``, ``row``...).
    """

    transient: bool = False

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.context.items())
        text = self.message + (f" ({where})" if where else "")
        return text + (f" — {self.hint}" if self.hint else "")


class TransientError(MarketLakeError):
    """An error that may go away when the step is retried."""

    transient = True


class TerminalError(MarketLakeError):
    """An error that retrying cannot fix: the input or the setup must change."""


class ConfigError(TerminalError):
    """Settings are missing, malformed or contradictory."""


class SourceError(TerminalError):
    """A source file or payload cannot be read as its format promises."""


class LakeError(TerminalError):
    """The lake (bronze, silver, gold) is unreadable or inconsistent."""


class LakeUnavailableError(TransientError):
    """The object store did not answer; retrying later may succeed."""


class WarehouseError(TerminalError):
    """The warehouse could not be built or queried."""


class WarehouseLockedError(TransientError):
    """Another process holds the warehouse's write lock."""


class WarehouseUnavailableError(TransientError):
    """The warehouse server (PostgreSQL, Snowflake) did not answer; retrying later may succeed."""
