"""The server in a subprocess, started as a user starts it, for the tests and benchmarks that talk to it over
HTTP from outside (a browser, or a Python without the `dev` extra)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from runtime.paths import ROOT


@dataclass(frozen=True)
class Server:
    """A started server: its base URL, and the file its stdout and stderr go to."""

    url: str
    log: IO[bytes]

    def output(self) -> str:
        """What the server printed so far (the log is opened for appending, so reading it never moves a write)."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(module: Sequence[str] = ("webapp",), timeout_s: float = 30.0,
                   env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """`python -m webapp --port P` on a free port P, once /healthz answers; stopped afterwards. `module` replaces
    `webapp` in that command, e.g. to start it through a wrapper (`tests.without_imports dev webapp`); `env` adds to
    its environment (the server's settings)."""
    port = free_port()
    with tempfile.TemporaryFile("a+b") as log:
        process = subprocess.Popen([sys.executable, "-m", *module, "--port", str(port)], cwd=ROOT,
                                   env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", log)
        try:
            _wait_until_healthy(server, process, timeout_s)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(server: Server, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.output()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the server at {server.url} did not answer /healthz within {timeout_s:.0f} s")
