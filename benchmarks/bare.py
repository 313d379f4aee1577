"""The ceiling for the webhook benchmark: a FastAPI endpoint that only parses the form.

Served the way ``seguro-bot serve`` serves the bot (``uvicorn.run`` with
the same options, one process), and answering what the bot answers (an
empty TwiML document), so the difference to ``serve`` is the bot's own
work per webhook: the signature check, the stored payload, the commit.

    .venv/bin/python -m benchmarks.bare --port 8100
"""
from __future__ import annotations

import argparse
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request, Response

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/webhooks/whatsapp")
async def inbound(request: Request) -> Response:
    form = parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True)
    if not any(key == "MessageSid" for key, _ in form):
        return Response(status_code=400)
    return Response(content=EMPTY_TWIML, media_type="text/xml")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, proxy_headers=True, server_header=False)


if __name__ == "__main__":
    main()
