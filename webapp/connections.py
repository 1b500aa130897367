"""How the server keeps serving while clients misbehave: a deadline for every request's head (else silent clients
hold their sockets for good), the security headers on uvicorn's own 400s, as many open files as the system allows,
and repeated log lines kept to one a while."""

from __future__ import annotations

import asyncio
import logging
import resource
import time

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from webapp.security import COMMON_HEADERS, PAGE_HEADERS

HEAD_TIMEOUT_S = 10.0
"""From a connection's start, or the end of its last response, to its next request's head complete
(docs/decisions.md#request-head-deadline)."""

REPEAT_WINDOW_S = 10.0
"""The same log line is written at most once in this many seconds (a full socket table repeats one each accept)."""


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head: a connection whose head has not all come
    `head_timeout_s` after it opened (or after its last response, where uvicorn's shorter keep-alive limit applies)
    is closed, however slowly its bytes trickle in."""

    head_timeout_s = HEAD_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.head_timeout_s, self.timeout_keep_alive_handler)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own would cancel the deadline on any byte; it is cancelled when a whole head has come instead
        # (handle_events, on the request)
        self.conn.receive_data(data)
        self.handle_events()

    def timeout_keep_alive_handler(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot read (no Host, a NUL or CR in a header, two Content-Lengths),
        which never reaches the app: here with the security headers every other response carries."""
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                   *((name.lower().encode(), value.encode()) for name, value in {**COMMON_HEADERS,
                                                                                 **PAGE_HEADERS}.items())]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                      h11.Data(data=msg.encode("ascii")), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


def with_head_timeout(seconds: float) -> type[HeadDeadlineProtocol]:
    """HeadDeadlineProtocol with another deadline (uvicorn makes the protocol itself, from the class)."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"head_timeout_s": seconds})


def raise_open_file_limit() -> int:
    """The soft limit on open files raised to the hard one (often 1024 against 500,000 or more): each client holds a
    socket. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


class OncePerWindow(logging.Filter):
    """Lets a log line through at most once every `window_s` seconds, per logger and message template."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self.last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = (record.name, str(record.msg)), time.monotonic()
        if now - self.last.get(key, -self.window_s) < self.window_s:
            return False
        self.last[key] = now
        return True


def quiet_repeated_log_lines(loggers: tuple[str, ...] = ("asyncio", "uvicorn.error")) -> None:
    """OncePerWindow on the loggers that repeat a line per connection when clients flood the server."""
    for name in loggers:
        logging.getLogger(name).addFilter(OncePerWindow())
