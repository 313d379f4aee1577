"""The HTTP side of Twilio: the REST client pointed where settings say, and its errors.

twilio's ``Client`` has no base-URL option, only a pluggable
``twilio.http.HttpClient``; :class:`RewritingHttpClient` rewrites the
``https://api.twilio.com`` (or any ``*.twilio.com``) prefix to
``TWILIO_API_BASE_URL`` so tests and staging can talk to a fake server.

The library raises ``TwilioRestException`` (or, for RFC-9457 answers,
``TwilioServiceException``) without the response headers, so the
``Retry-After`` of a 429/5xx is kept by the HTTP client in a context
variable (per asyncio task) and read back by :func:`map_error`'s caller.
"""
from __future__ import annotations

import asyncio
import base64
import contextvars
import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from bot.channels.base import NeedsTemplate, PermanentFailure, RetryLater, SendError

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.twilio.com"
#: Twilio's "outside the 24-hour window, use a template" error.
OUTSIDE_WINDOW = 63016
#: The Retry-After of the current task's last failed response (twilio's exceptions drop the headers).
_RETRY_AFTER: contextvars.ContextVar[float | None] = contextvars.ContextVar("twilio_retry_after", default=None)
#: Longest Retry-After we honour, so a bogus header cannot park a message for days.
MAX_RETRY_AFTER_S = 3600.0


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds, or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))


class RewritingHttpClient(AsyncHttpClient):
    """twilio's asynchronous HTTP client, over one pooled aiohttp session, sending ``*.twilio.com`` calls to ``base_url``.

    Asynchronous, so the outbox's sends are coroutines on the service's
    event loop instead of blocking calls in worker threads (twilio's
    requests-based client cost a thread hop and more CPU per message).
    With the default base URL nothing is rewritten, so Twilio regions and
    edges (``api.dublin.ie1.twilio.com``) keep working in production.
    """

    def __init__(self, base_url: str = DEFAULT_API_BASE_URL, *, timeout: float = 20.0) -> None:
        super().__init__(log, True, timeout)
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def rewrite(self, url: str) -> str:
        if self.base_url == DEFAULT_API_BASE_URL:
            return url
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    @property
    def last_retry_after(self) -> float | None:
        """The Retry-After of the last throttled or failed response of the calling task."""
        return _RETRY_AFTER.get()

    def _client_session(self) -> aiohttp.ClientSession:
        """The session of the running loop (a new loop, as in one-shot commands, gets a new one)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # No cookie jar: Twilio's API sets none worth keeping, and filtering one costs every request.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64),
                                                  cookie_jar=aiohttp.DummyCookieJar())
            self._loop = loop
        return self._session

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        _RETRY_AFTER.set(None)
        target = self.rewrite(url)
        # twilio logs every request and its headers at INFO; one DEBUG line is enough.
        log.debug("Twilio API %s %s", method, target)
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        body: bytes | None = None
        if data:
            # Encoded here: aiohttp's FormData (and the multipart writer it builds first) cost a
            # fifth of a send. Lists (MediaUrl) become repeated keys, as Twilio expects.
            body = urlencode(data, doseq=True).encode("utf-8")
            headers = {**(headers or {}), "Content-Type": "application/x-www-form-urlencoded"}
        async with self._client_session().request(
            method.upper(), target, params=params, data=body, headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            text = await response.text()
            status = response.status
            response_headers = dict(response.headers)
        log.debug("Twilio API answered HTTP %s", status)
        if status == 429 or status >= 500:
            _RETRY_AFTER.set(retry_after_seconds(response_headers.get("Retry-After")))
        return Response(status, text, response_headers)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = self._loop = None


def map_error(exc: BaseException, *, retry_after: float | None = None) -> SendError:
    """The outbox's view of a failed ``messages.create``.

    63016 → :class:`NeedsTemplate`; 429, 5xx, timeouts and connection errors
    → :class:`RetryLater` (with the server's Retry-After); any other 4xx →
    :class:`PermanentFailure` carrying Twilio's error code.
    """
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        status = int(exc.status or 0)
        code = exc.code
        detail = _detail(exc)
        if code == OUTSIDE_WINDOW:
            return NeedsTemplate(f"Twilio {OUTSIDE_WINDOW}: outside the 24-hour window ({detail})")
        if status == 429 or status >= 500 or status == 0:
            return RetryLater(f"Twilio HTTP {status} code {code}: {detail}", retry_after=retry_after)
        return PermanentFailure(f"Twilio HTTP {status} code {code}: {detail}",
                                code=str(code if code is not None else status))
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return RetryLater(f"Twilio timed out ({type(exc).__name__})")
    if isinstance(exc, aiohttp.ClientError):
        return RetryLater(f"Twilio unreachable ({type(exc).__name__})")
    raise TypeError(f"not a Twilio send error: {exc!r}")


def _detail(exc: Any) -> str:
    # TwilioRestException.__str__ paints ANSI colours on a terminal; use the raw fields.
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", None) or ""
    return str(text)[:300]
