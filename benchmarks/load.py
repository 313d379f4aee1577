"""A load client cheap enough not to be what the service benchmark measures.

httpx's client spends several milliseconds of CPU per request here (on
this 2-core machine it, not the server, was the limit: a bare FastAPI
endpoint used a fifth of a core while the client used a whole one). This
client writes requests built before the clock starts, byte for byte, on
keep-alive HTTP/1.1 connections, and reads each response by its
``Content-Length``: tens of microseconds a request, so the cores go to the
servers being compared.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    """One request, ready to write, and the sender it comes from (for the end-to-end match)."""

    raw: bytes
    sender: str


def build(url: str, path: str, body: bytes, headers: dict[str, str], sender: str) -> Request:
    host = urlsplit(url).netloc
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return Request(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body, sender)


class Connection:
    """One keep-alive connection; ``send`` returns the response's status code."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17:end])
        elif b"transfer-encoding: chunked" in lower:
            raise RuntimeError("chunked responses are not expected from a webhook")
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class Load:
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds


async def closed_loop(url: str, reqs: list[Request], concurrency: int) -> Load:
    """Send every request, ``concurrency`` at a time; latency per request, throughput overall."""
    latencies: list[float] = []
    failures = 0
    queue = iter(reqs)
    conns = [await Connection.open(url) for _ in range(concurrency)]

    async def worker(conn: Connection) -> None:
        nonlocal failures
        for req in queue:
            t0 = time.perf_counter()
            status = await conn.send(req.raw)
            if status != 200:
                failures += 1
                continue
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    seconds = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return Load(seconds, latencies, failures)


async def paced(url: str, reqs: list[Request], rate: float, refused: list[int] | None = None,
                connections: int = 64) -> dict[str, float]:
    """Post at ``rate`` per second (open loop); returns when each was due, by sender.

    A request waiting for a free connection counts that wait in its latency
    (its clock starts when it was due, not when it was written). The status
    of every webhook that did not get a 200 is appended to ``refused``.
    """
    posted: dict[str, float] = {}
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open(url))

    async def one(req: Request) -> None:
        posted[req.sender] = time.time()
        conn = await pool.get()
        try:
            status = await conn.send(req.raw)
        finally:
            pool.put_nowait(conn)
        if status != 200:
            posted.pop(req.sender, None)
            if refused is not None:
                refused.append(status)

    start = time.perf_counter()
    tasks = []
    for i, req in enumerate(reqs):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(req)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    return posted
