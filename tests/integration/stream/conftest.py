"""Fixtures of the stream tests: the machine's NATS (JetStream) and PostgreSQL, unique names.

NATS is 127.0.0.1:4222 (or ``MARKETLAKE_TEST_NATS_HOST`` / ``_PORT``), PostgreSQL
127.0.0.1:5432 as ``postgres`` (``MARKETLAKE_TEST_PG_*``), both started by
``scripts/services.sh all``. A missing server fails the tests with that instruction; they are
never skipped. Every test gets its own streams, subjects, durable and PostgreSQL schema, and
each module its own database, so tests run in parallel with any others.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from marketlake.config import Settings, load_settings

from .support import Names, delete_streams

SETUP = "start them with `scripts/services.sh all`"


def _pg() -> dict[str, object]:
    return {
        "host": os.environ.get("MARKETLAKE_TEST_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("MARKETLAKE_TEST_PG_PORT", "5432")),
        "user": os.environ.get("MARKETLAKE_TEST_PG_USER", "postgres"),
    }


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The machine's NATS server; fails (never skips) when it does not answer."""
    host = os.environ.get("MARKETLAKE_TEST_NATS_HOST", "127.0.0.1")
    port = int(os.environ.get("MARKETLAKE_TEST_NATS_PORT", "4222"))
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"NATS is not reachable at {host}:{port} ({exc}); {SETUP}", pytrace=False)
    return f"nats://{host}:{port}"


@pytest.fixture(scope="module")
def live_db() -> Iterator[str]:
    """A new database for the module, dropped at its end."""
    pg = _pg()
    name = f"ml_stream_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(**pg, dbname="postgres", autocommit=True, connect_timeout=5)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[-1]
        pytest.fail(f"PostgreSQL is not reachable ({detail}); {SETUP}", pytrace=False)
    admin.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def make_settings(
    nats_url: str, dbname: str, names: Names, data_dir: object, **stream: object
) -> Settings:
    """Settings of one test: its names, the module's database, ``stream`` overrides."""
    return load_settings(
        data_dir=data_dir,
        warehouse={"postgres": {**_pg(), "dbname": dbname}},
        stream={"nats_url": nats_url, **names.settings(), **stream},
    )


@pytest.fixture
def names(nats_url: str) -> Iterator[Names]:
    """Unique stream, subject, durable and schema names; the streams are deleted after."""
    made = Names.unique()
    yield made
    delete_streams(nats_url, made)
