"""A fake Twilio: the Messages API, media behind Basic auth, and signed webhooks.

Serve :attr:`FakeTwilio.app` with :func:`tests.fakes.server.serve` and point
``TWILIO_API_BASE_URL`` at it. It behaves like the parts of Twilio the bot
uses, including the unpleasant ones, switched on by knobs:

* ``fail_next(n, status=500 | 429, retry_after=...)``: the next n message
  requests fail (the outbox must retry until the fake recovers);
* ``slow_next(n, seconds, accept=True)``: the next n message requests answer
  late; with ``accept=False`` they then fail with 503 instead of creating the
  message (a gateway that hung), with ``accept=True`` the message is created
  after the delay even if the caller gave up meanwhile (``Sent.late``), which
  is how a timeout turns into a duplicate: Twilio has no idempotency key;
* ``close_window(number)``: free-form messages to that number get 63016
  (templates still pass), as WhatsApp does after 24 h of silence;
* media: ``add_media`` serves bytes at ``/media/{name}``, which redirects to
  ``/media-content/{name}``; both need Basic auth (account SID, token).

:func:`sign` and :func:`post_signed` sign a form exactly as Twilio does
(HMAC-SHA1 over the public URL + sorted params), so tests reach our app
through the same door Twilio uses.
"""
from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "tok3n-" + "5ecret" * 5
DESK_NUMBERS = ("+5216444207351", "+5216441617836")
PUBLIC_BASE_URL = "https://bot.example.mx"

#: The smallest valid PNG (1×1), and a JPEG header that MediaStore recognises.
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


Params = Mapping[str, str] | Sequence[tuple[str, str]]


class _Multi(dict[str, list[str]]):
    def getall(self, name: str) -> list[str]:
        return self[name]


def _pairs(params: Params) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else [(k, v) for k, v in params]


def sign(url: str, params: Params, token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for ``params`` posted to ``url``."""
    multi = _Multi()
    for key, value in _pairs(params):
        multi.setdefault(key, []).append(value)
    return RequestValidator(token).compute_signature(url, multi)


def post_signed(app_url: str, path: str, params: Params, *, token: str = AUTH_TOKEN,
                public_base_url: str = PUBLIC_BASE_URL, signed_url: str | None = None,
                signature: str | None = None, unsigned: bool = False, timeout: float = 10.0) -> httpx.Response:
    """POST ``params`` form-encoded to ``app_url + path``, signed over ``public_base_url + path``.

    ``signed_url`` signs over another URL (what a misconfigured proxy setup
    would compare); ``signature`` forces a header value; ``unsigned`` sends none.
    """
    pairs = _pairs(params)
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "User-Agent": "TwilioProxy/1.1"}
    if not unsigned:
        headers["X-Twilio-Signature"] = (signature if signature is not None
                                          else sign(signed_url or public_base_url + path, pairs, token))
    return httpx.post(app_url + path, content=urlencode(pairs).encode("utf-8"), headers=headers, timeout=timeout)


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def inbound_form(body: str = "", *, sender: str = "+5216440000001", to: str = DESK_NUMBERS[0],
                 sid: str | None = None, profile_name: str = "Ana", media: Iterable[tuple[str, str]] = (),
                 extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The form Twilio posts for an inbound WhatsApp message, with its many fields.

    ``media`` is (url, content type) pairs. Fields the bot does not know
    (WaId, ChannelMetadata, ...) are included on purpose.
    """
    sid = sid or new_sid("SM")
    media = list(media)
    form = {
        "SmsMessageSid": sid, "NumMedia": str(len(media)), "ProfileName": profile_name,
        "MessageType": "image" if media else "text", "SmsSid": sid, "WaId": sender.lstrip("+"),
        "SmsStatus": "received", "Body": body, "To": f"whatsapp:{to}", "NumSegments": "1",
        "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{sender}", "ApiVersion": "2010-04-01",
        "ChannelMetadata": json.dumps({"type": "whatsapp", "data": {"context": {"ProfileName": profile_name,
                                                                             "WaId": sender.lstrip("+")}}}),
    }
    for i, (url, content_type) in enumerate(media):
        form[f"MediaUrl{i}"] = url
        form[f"MediaContentType{i}"] = content_type
    form.update(extra or {})
    return form


@dataclass
class Sent:
    """One message the fake accepted."""

    sid: str
    to: str
    from_: str
    body: str | None
    content_sid: str | None
    content_variables: str | None
    status_callback: str | None
    form: dict[str, str] = field(default_factory=dict)
    #: Accepted after a ``slow_next`` delay (the caller may have timed out and retried).
    late: bool = False
    #: When it was accepted (wall clock: benchmarks compare it with when the webhook was posted).
    at: float = field(default_factory=time.time)


@dataclass
class _Failure:
    status: int
    retry_after: str | None


class FakeTwilio:
    """The fake's state (thread-safe: uvicorn serves it from another thread) and its ASGI app."""

    def __init__(self, account_sid: str = ACCOUNT_SID, token: str = AUTH_TOKEN,
                 senders: Iterable[str] = DESK_NUMBERS) -> None:
        self.account_sid = account_sid
        self.token = token
        self.senders = {f"whatsapp:{n}" for n in senders}
        self.url = ""  # set by the test once served, for media URLs
        self.sent: list[Sent] = []
        self.attempts = 0
        self.rejected: list[dict[str, Any]] = []
        self.media_requests: list[tuple[str, bool]] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._failures: list[_Failure] = []
        self._media_failures: list[int] = []
        self._slow: list[tuple[float, bool]] = []
        self._closed_windows: set[str] = set()
        self._lock = threading.Lock()
        self.app = Starlette(routes=[
            Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create_message, methods=["POST"]),
            Route("/media/{name}", self._media_redirect, methods=["GET"]),
            Route("/media-content/{name}", self._media_content, methods=["GET"]),
        ])

    # -- knobs ------------------------------------------------------------

    def fail_next(self, n: int, *, status: int = 500, retry_after: str | None = None) -> None:
        with self._lock:
            self._failures.extend(_Failure(status, retry_after) for _ in range(n))

    def recover(self) -> None:
        """Forget every pending failure and delay: the fake works again."""
        with self._lock:
            self._failures.clear()
            self._media_failures.clear()
            self._slow.clear()

    def slow_next(self, n: int, seconds: float, *, accept: bool = True) -> None:
        with self._lock:
            self._slow.extend([(seconds, accept)] * n)

    def close_window(self, number: str) -> None:
        """Free-form messages to ``number`` now fail with 63016, like WhatsApp after 24 h."""
        with self._lock:
            self._closed_windows.add(f"whatsapp:{number.removeprefix('whatsapp:')}")

    def fail_media_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._media_failures.extend([status] * n)

    def add_media(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve ``data``; returns the MediaUrl Twilio would put in the webhook."""
        with self._lock:
            self._media[name] = (data, content_type)
        return f"{self.url}/media/{name}"

    # -- helpers for assertions -------------------------------------------

    def messages(self, to: str | None = None) -> list[Sent]:
        with self._lock:
            return [m for m in self.sent if to is None or m.to == f"whatsapp:{to.removeprefix('whatsapp:')}"]

    def wait_for(self, count: int, *, to: str | None = None, timeout: float = 15.0) -> list[Sent]:
        """Block until at least ``count`` messages were accepted (to ``to``); returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(to)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    # -- endpoints ----------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.token

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                             "status": status}, status_code=status, headers=headers)

    async def _create_message(self, request: Request) -> Response:
        # Twilio reads only a form body (anything else: no parameters at all, so "To" is missing).
        is_form = request.headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded"
        raw = (await request.body()).decode() if is_form else ""
        form = dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=False))
        with self._lock:
            self.attempts += 1
            delay, accept = self._slow.pop(0) if self._slow else (0.0, True)
            failure = self._failures.pop(0) if self._failures else None
        if delay:
            await asyncio.sleep(delay)
            if not accept:
                return self._error(503, 20503, "Service Unavailable")
        if not self._authorised(request) or request.path_params["sid"] != self.account_sid:
            return self._error(401, 20003, "Authenticate")
        if failure is not None:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            code = 20429 if failure.status == 429 else 20500
            return self._error(failure.status, code, "Too Many Requests" if failure.status == 429
                               else "Internal Server Error", headers)
        to, from_ = form.get("To", ""), form.get("From", "")
        body, content_sid = form.get("Body"), form.get("ContentSid")
        problem = None
        if not to.startswith("whatsapp:") or not from_.startswith("whatsapp:"):
            problem = (400, 21211, "Invalid 'To' or 'From' address")
        elif from_ not in self.senders:
            problem = (400, 63007, "Twilio could not find a Channel with the specified From address")
        elif not body and not content_sid:
            problem = (400, 21619, "A text message body or media urls must be specified")
        elif body and len(body) > 1600:
            problem = (400, 21617, "The concatenated message body exceeds the 1600 character limit")
        elif content_sid and not content_sid.startswith("HX"):
            problem = (400, 21656, "The ContentSid is invalid")
        elif not content_sid and to in self._closed_windows:
            problem = (400, 63016, "Failed to send freeform message because you are outside the allowed window. "
                                   "If you are using WhatsApp, please use a Message Template.")
        if problem:
            with self._lock:
                self.rejected.append({"status": problem[0], "code": problem[1], **form})
            return self._error(*problem)
        sid = new_sid("SM")
        sent = Sent(sid=sid, to=to, from_=from_, body=body, content_sid=content_sid,
                    content_variables=form.get("ContentVariables"), status_callback=form.get("StatusCallback"),
                    form=form, late=bool(delay))
        with self._lock:
            self.sent.append(sent)
        return JSONResponse({
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": from_, "body": body or "",
            "status": "queued", "num_segments": "1", "num_media": "0", "direction": "outbound-api",
            "api_version": "2010-04-01", "error_code": None, "error_message": None,
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }, status_code=201)

    async def _media_redirect(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self._lock:
            self.media_requests.append((f"/media/{name}", self._authorised(request)))
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        return RedirectResponse(f"{request.base_url}media-content/{name}", status_code=302)

    async def _media_content(self, request: Request) -> Response:
        name = request.path_params["name"]
        authorised = self._authorised(request)
        with self._lock:
            self.media_requests.append((f"/media-content/{name}", authorised))
            failure = self._media_failures.pop(0) if self._media_failures else None
            item = self._media.get(name)
        if not authorised:
            return self._error(401, 20003, "Authenticate")
        if failure:
            return Response("unavailable", status_code=failure)
        if item is None:
            return self._error(404, 20404, "The requested resource was not found")
        data, content_type = item
        return Response(data, media_type=content_type)

    # -- Twilio → our app ---------------------------------------------------

    def status_callback(self, sent: Sent, status: str, *, error_code: str | None = None,
                        app_url: str, public_base_url: str = PUBLIC_BASE_URL) -> httpx.Response:
        """POST a signed status callback for ``sent`` to our app, as Twilio would."""
        assert sent.status_callback and sent.status_callback.startswith(public_base_url)
        path = sent.status_callback[len(public_base_url):]
        form = {"SmsSid": sent.sid, "SmsStatus": status, "MessageStatus": status, "To": sent.to,
                "MessageSid": sent.sid, "AccountSid": self.account_sid, "From": sent.from_,
                "ApiVersion": "2010-04-01", "ChannelToAddress": sent.to.removeprefix("whatsapp:"),
                "ChannelPrefix": "whatsapp", "ChannelInstallSid": new_sid("XE")}
        if error_code:
            form["ErrorCode"] = error_code
            form["EventType"] = "FAILED"
        return post_signed(app_url, path, form, token=self.token, public_base_url=public_base_url)
