"""The server under clients that hold connections without finishing a request, started as a user starts it, on a
machine allowed few open files: everyone else is still served, the silent clients are cut, the log stays short."""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.request

from tests.server_process import running_server
from webapp.security import COMMON_HEADERS, PAGE_HEADERS

HEAD_TIMEOUT_S = 2
OPEN_FILES = 256
CLIENTS = 300


def test_silent_and_half_sent_clients_are_cut_and_others_served_meanwhile() -> None:
    module = ("tests.with_open_files", str(OPEN_FILES), "webapp", "--head-timeout", str(HEAD_TIMEOUT_S))
    with running_server(module=module) as server:
        address = ("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
        held = []
        try:
            for i in range(CLIENTS):  # more than the server may have files open: the rest wait in its backlog
                client = socket.create_connection(address, timeout=5)
                if i % 2:
                    client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half a request head, never ended
                held.append(client)
            start = time.monotonic()
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=30) as response:
                assert response.status == 200
            assert time.monotonic() - start < 3 * HEAD_TIMEOUT_S + 2
            cut = 0
            for client in held:
                client.settimeout(3 * HEAD_TIMEOUT_S + 2)
                with contextlib.suppress(TimeoutError):
                    cut += client.recv(1) == b""
            assert cut == CLIENTS
        finally:
            for client in held:
                client.close()
        assert len(server.output()) < 20_000, server.output()[-2000:]


MALFORMED = {
    "no Host": b"GET / HTTP/1.1\r\n\r\n",
    "a NUL in a header": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\x00b\r\n\r\n",
    "a CR in a header": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\rb\r\n\r\n",
    "two Content-Lengths": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
}


def test_requests_the_server_cannot_read_get_a_400_with_the_security_headers() -> None:
    """uvicorn answers these before the app; they carry the headers every response does."""
    with running_server() as server:
        address = ("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
        for name, request in MALFORMED.items():
            with socket.create_connection(address, timeout=5) as client:
                client.sendall(request)
                answer = b""
                while chunk := client.recv(65536):
                    answer += chunk
            head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            assert head[0].startswith("HTTP/1.1 400"), (name, head[0])
            headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head[1:]}
            for header, value in {**COMMON_HEADERS, **PAGE_HEADERS}.items():
                assert headers.get(header.lower()) == value, (name, header)
