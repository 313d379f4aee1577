"""The fake Twilio of the tests in a process of its own, for the service benchmark.

In its own process so that its work (accepting every reply) does not
share a GIL with the benchmark's client; ``GET /_bench/sent`` returns what
it accepted as ``[[accepted_at, to, body], ...]`` (wall clock, so it can be
compared with the time the benchmark posted the webhook).

    .venv/bin/python -m benchmarks.fake_twilio --port 8101
"""
from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.fakes.twilio import FakeTwilio


def build() -> Starlette:
    fake = FakeTwilio()

    async def sent(_request: Request) -> JSONResponse:
        return JSONResponse([[m.at, m.to, m.body] for m in fake.messages()])

    return Starlette(routes=[Route("/_bench/sent", sent, methods=["GET"]), Mount("/", app=fake.app)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build(), host="127.0.0.1", port=args.port, log_level="warning", server_header=False)


if __name__ == "__main__":
    main()
