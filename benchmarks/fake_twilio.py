"""A lean fake Twilio Messages API in a process of its own, for the service benchmark.

The tests' fake (``tests.fakes.twilio``, a Starlette app) checks everything
and can fail on demand, but costs more than a millisecond of CPU a message,
on the same two cores as the bot it is there to measure. This one does what
the benchmark needs and nothing else, on a bare asyncio protocol:
``POST /2010-04-01/Accounts/{sid}/Messages.json`` with the right Basic
credentials answers 201 with the JSON Twilio answers (the bot's Twilio
client parses it) and records the message; ``GET /_bench/sent`` returns
what it accepted as ``[[accepted_at, to, body], ...]`` (wall clock, so it
can be compared with the time the benchmark posted the webhook), from the
``since``-th on with ``?since=N`` (the benchmark polls it while it waits).

    .venv/bin/python -m benchmarks.fake_twilio --port 8101
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import time
from urllib.parse import parse_qsl

from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN

MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json".encode()
AUTHORIZATION = b"basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).lower()
SENT: list[tuple[float, str, str]] = []


def response(status: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
    return (b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: " + content_type
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def create_message(form: dict[str, str]) -> bytes:
    sid = "SM" + secrets.token_hex(16)
    to, body = form.get("To", ""), form.get("Body") or ""
    SENT.append((time.time(), to, body))
    return response("201 Created", json.dumps({
        "sid": sid, "account_sid": ACCOUNT_SID, "to": to, "from": form.get("From", ""), "body": body,
        "status": "queued", "num_segments": "1", "num_media": "0", "direction": "outbound-api",
        "api_version": "2010-04-01", "error_code": None, "error_message": None,
        "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }).encode())


def answer(method: bytes, path: bytes, query: dict[str, str], headers: dict[bytes, bytes], body: bytes) -> bytes:
    if method == b"POST" and path == MESSAGES_PATH:
        if headers.get(b"authorization", b"").lower() != AUTHORIZATION:
            return response("401 Unauthorized", b'{"code": 20003, "message": "Authenticate", "status": 401}')
        return create_message(dict(parse_qsl(body.decode(), keep_blank_values=True)))
    if method == b"GET" and path == b"/_bench/sent":
        return response("200 OK", json.dumps(SENT[int(query.get("since", "0")):]).encode())
    return response("404 Not Found", b'{"code": 20404, "status": 404}')


class Server(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and ``Content-Length`` bodies: what the Twilio client sends."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].split(b"\r\n")
            method, path, _ = lines[0].split(b" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            if b"chunked" in headers.get(b"transfer-encoding", b""):
                self.transport.write(response("411 Length Required", b"{}"))
                self.transport.close()
                return
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            path, _, query = path.partition(b"?")
            self.transport.write(answer(method, path, dict(parse_qsl(query.decode())), headers, body))


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Server, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.port))
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
