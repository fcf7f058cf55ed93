"""The real server keeps its resources bounded: a huge chunked upload is refused as it streams
in, slow clients are cut off at their deadlines, connections beyond the cap are turned away,
and the liveness probe answers throughout a flood of database-bound requests."""

from __future__ import annotations

import http.client
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from clearing.adapters.persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.e2e.world import World, build_world
from tests.ops.live_server import LivenessProbe, LiveServer, live_server

pytestmark = pytest.mark.postgres

MIB = 1024 * 1024
DEADLINE = 2.0
#: How long past its deadline a slow client may still be connected (a loaded test machine).
GRACE = 4.0
SLOW_CLIENTS = 150
#: /healthz is not timed here, only required to answer: this bounds a stall, not a benchmark.
LIVENESS_BOUND = 3.0


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(
        database_url,
        tmp_path,
        CLEARING_HEADER_TIMEOUT=str(DEADLINE),
        CLEARING_BODY_TIMEOUT=str(DEADLINE),
        CLEARING_MAX_CONNECTIONS=str(2 * SLOW_CLIENTS + 100),
    ) as running:
        yield running


@pytest.fixture
def world(server: LiveServer, uows: SqlUnitOfWorkFactory, engine: Engine) -> Iterator[World]:
    with server.client() as client:
        made = build_world(client, uows, engine, {"CN": "CNY", "RU": "RUB"}, 2)
        for _ in range(10):
            made.invoice(made.trader("CN", 0), made.trader("RU", 0), "1000.00")
        yield made


def test_the_server_stays_bounded_and_alive_under_hostile_and_heavy_clients(
    server: LiveServer, world: World
) -> None:
    with LivenessProbe(server).running() as probe:
        _a_chunked_upload_is_refused_as_it_streams_in(server, world)
        slow = [*_slow_header_clients(server), *_slow_body_clients(server, world)]
        lasted: list[float] = []
        trickling = threading.Thread(target=lambda: lasted.extend(_trickle_until_cut_off(slow)))
        trickling.start()
        statuses = _flood(server, world.auditor, clients=20, seconds=4.0)
        trickling.join()
    assert len(lasted) == 2 * SLOW_CLIENTS
    assert max(lasted) < DEADLINE + GRACE, f"a slow client lasted {max(lasted):.1f} s"
    assert min(lasted) >= DEADLINE - 0.5, "a slow client was cut off before its deadline"
    assert statuses
    assert set(statuses) == {200}
    assert probe.failures == []
    assert len(probe.latencies) >= 10
    assert max(probe.latencies) < LIVENESS_BOUND, sorted(probe.latencies)[-5:]
    assert server.process.poll() is None


def _a_chunked_upload_is_refused_as_it_streams_in(server: LiveServer, world: World) -> None:
    rss_before, peak_before = server.memory_kib("VmRSS"), server.memory_kib("VmHWM")
    answer, sent = _post_chunked(server, world.trader("CN", 0).key, total=50 * MIB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"too_large"' in answer.replace(b" ", b"")
    assert sent < 25 * MIB, "the 413 came only after most of the body"
    grown_kib = max(server.memory_kib("VmHWM") - peak_before, 0)
    assert grown_kib < 24 * 1024, f"the server grew by {grown_kib} KiB at its peak"
    assert server.memory_kib("VmRSS") - rss_before < 24 * 1024


def _post_chunked(server: LiveServer, key: str, total: int) -> tuple[bytes, int]:
    """POST ``total`` bytes of JSON-ish chunks without a Content-Length, stopping as soon as an
    answer arrives; the answer and the bytes sent."""
    connection = server.connect()
    connection.sendall(
        b"POST /v1/invoices HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nAuthorization: Bearer " + key.encode() + b"\r\n\r\n"
    )
    data = b" " * (64 * 1024)
    chunk = b"%x\r\n%s\r\n" % (len(data), data)
    sent = 0
    with connection:
        while sent < total and not select.select([connection], [], [], 0)[0]:
            try:
                connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(data)
        return _read_until_closed(connection), sent


def _read_until_closed(connection: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass  # the server closed with our unread chunks pending; its answer came first
    return answer


def _slow_header_clients(server: LiveServer) -> list[tuple[socket.socket, float]]:
    """Connections that send a request line and then trickle a header, a byte at a time."""
    return [
        _opened(server, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        for _ in range(SLOW_CLIENTS)
    ]


def _slow_body_clients(server: LiveServer, world: World) -> list[tuple[socket.socket, float]]:
    """Connections that send whole headers of a POST and then trickle its body."""
    key = world.trader("CN", 0).key.encode()
    opening = (
        b"POST /v1/invoices HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\nAuthorization: Bearer " + key + b"\r\n\r\n{"
    )
    return [_opened(server, opening) for _ in range(SLOW_CLIENTS)]


def _opened(server: LiveServer, opening: bytes) -> tuple[socket.socket, float]:
    connection = server.connect()
    connection.sendall(opening)
    connection.setblocking(False)
    return connection, time.monotonic()


def _trickle_until_cut_off(clients: list[tuple[socket.socket, float]]) -> list[float]:
    """Send each open connection a byte every half second until the server closes it; how long
    each lasted after it was opened (given up on a while past the deadline)."""
    give_up_after = DEADLINE + GRACE + 5.0
    lasted: dict[socket.socket, float] = {}
    while len(lasted) < len(clients):
        now = time.monotonic()
        for connection, opened in clients:
            if connection in lasted:
                continue
            if _closed_by_server(connection) or now - opened > give_up_after:
                lasted[connection] = now - opened
                connection.close()
        time.sleep(0.5)
    return list(lasted.values())


def _closed_by_server(connection: socket.socket) -> bool:
    try:
        received: bytes | None = connection.recv(4096)
    except BlockingIOError:
        received = None  # nothing to read: still open, as far as reading tells
    except OSError:
        return True
    if received == b"":
        return True
    try:
        connection.send(b"a")
    except BlockingIOError:
        return False
    except OSError:
        return True
    return False


def _flood(server: LiveServer, key: str, clients: int, seconds: float) -> list[int]:
    """``clients`` keep-alive clients asking a page of invoices, one request after another."""
    statuses: list[int] = []
    until = time.monotonic() + seconds

    def ask() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while time.monotonic() < until:
            connection.request(
                "GET", "/v1/invoices?limit=100", headers={"Authorization": f"Bearer {key}"}
            )
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        connection.close()

    threads = [threading.Thread(target=ask) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_connections_beyond_the_cap_are_answered_503_at_once(
    database_url: str, tmp_path: Path
) -> None:
    with live_server(database_url, tmp_path, CLEARING_MAX_CONNECTIONS="5") as server:
        held = [server.connect() for _ in range(5)]
        time.sleep(0.2)  # let the server accept them all
        with server.connect() as one_too_many:
            answer = _read_until_closed(one_too_many)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        held.pop().close()
        time.sleep(0.2)
        assert server.healthz_seconds() < LIVENESS_BOUND
        for connection in held:
            connection.close()
