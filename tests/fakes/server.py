"""Run an ASGI app on a real loopback port in a background thread.

Fakes of Twilio and Telegram, and our own app in end-to-end tests, are
served this way: real HTTP on 127.0.0.1, nothing mocked in between.
"""
from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


#: Ports handed out by this process, never handed out twice.
_GIVEN: set[int] = set()
#: Each pass of the suite draws from its own range, below the kernel's
#: ephemeral range (32768 and up here): ``scripts/test`` runs the SQLite and
#: PostgreSQL passes side by side, and a port the kernel picked for one pass
#: (``bind(0)``) could be taken by the other, or by an outgoing connection,
#: between the check and the server's own bind ("serve on port N did not
#: start" once in CI).
_RANGES = {"sqlite": (12000, 21999), "postgres": (22000, 31999)}


def free_port() -> int:
    """A loopback port nobody listens on, unique in this process and in this pass's range."""
    low, high = _RANGES.get(os.environ.get("TEST_DATABASE", "sqlite"), (12000, 21999))
    for _ in range(200):
        port = random.randint(low, high)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError(f"no free port between {low} and {high}")


class ServerThread:
    """A uvicorn server in a thread; ``url`` is its base address."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[ServerThread]:
    server = ServerThread(app, port).start()
    try:
        yield server
    finally:
        server.stop()
