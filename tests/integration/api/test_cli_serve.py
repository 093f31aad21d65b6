"""``marketlake serve`` as a user runs it, and ``marketlake --help`` staying light."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .support import free_port

pytestmark = pytest.mark.e2e


def test_help_does_not_import_the_web_stack() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "marketlake.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "serve" in proc.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()}
    assert not imported & {"fastapi", "uvicorn", "starlette"}


def test_serve_answers_on_the_port_given(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "marketlake.cli.main", "--data-dir", str(tmp_path), "serve",
         "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        body = None
        for _ in range(300):  # bounded start-up wait
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        assert body is not None
        assert body == {"status": "ok", "gold": False, "version": body["version"]}
        missing = httpx.get(f"http://127.0.0.1:{port}/symbols", timeout=5)
        assert missing.status_code == 404
        assert "marketlake build" in missing.json()["detail"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"127.0.0.1:{port}" in out
