"""The real server, ``clearing serve``, run as a subprocess on the throwaway database, and the
probes the operations tests use on it: liveness, resident memory, raw sockets; and an app
served by uvicorn on a thread of the test process (:func:`app_in_thread`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import uvicorn

STARTUP_SECONDS = 30.0


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, timeout=60)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)

    def memory_kib(self, field_name: str = "VmRSS") -> int:
        """A figure of ``/proc/PID/status`` (``VmRSS`` now, ``VmHWM`` at its peak), in KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith(f"{field_name}:"))
        return int(line.split()[1])

    def healthz_seconds(self) -> float:
        """Seconds for one ``GET /healthz`` on a fresh connection; raises unless it is 200."""
        started = time.perf_counter()
        with self.connect() as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            answer = b"".join(iter(lambda: connection.recv(65536), b""))
        if not answer.startswith(b"HTTP/1.1 200"):
            raise AssertionError(f"/healthz answered {answer[:60]!r}")
        return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def live_server(database_url: str, log_dir: Path, **env: str) -> Iterator[LiveServer]:
    """``clearing serve`` on a free port with ``env`` added to its environment; stopped (or
    found dead) on leaving."""
    port = free_port()
    log = log_dir / f"server-{port}.log"
    command = [str(Path(sys.executable).parent / "clearing"), "serve", "--port", str(port)]
    environment = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **env}
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    server = LiveServer(process, port, log)
    try:
        _wait_until_live(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _wait_until_live(server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited: {server.log.read_text()[-2000:]}")
        try:
            server.healthz_seconds()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not start: {server.log.read_text()[-2000:]}")


@dataclass
class LivenessProbe:
    """Asks ``/healthz`` every ``interval`` seconds in a thread, recording each latency and
    each failure, until stopped."""

    server: LiveServer
    interval: float = 0.2
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.latencies.append(self.server.healthz_seconds())
            except (OSError, AssertionError) as error:
                self.failures.append(repr(error))

    @contextmanager
    def running(self) -> Iterator[LivenessProbe]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


@contextmanager
def app_in_thread(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a thread of this process; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
