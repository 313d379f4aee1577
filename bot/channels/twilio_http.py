"""The HTTP side of Twilio: the REST client pointed where settings say, and its errors.

twilio's ``Client`` has no base-URL option, only a pluggable
``twilio.http.HttpClient``; :class:`RewritingHttpClient` rewrites the
``https://api.twilio.com`` (or any ``*.twilio.com``) prefix to
``TWILIO_API_BASE_URL`` so tests and staging can talk to a fake server.

The library raises ``TwilioRestException`` (or, for RFC-9457 answers,
``TwilioServiceException``) without the response headers, so the
``Retry-After`` of a 429/5xx is kept per thread by the HTTP client and read
back by :func:`map_error` in the same worker thread.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from bot.channels.base import NeedsTemplate, PermanentFailure, RetryLater, SendError

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.twilio.com"
#: Twilio's "outside the 24-hour window, use a template" error.
OUTSIDE_WINDOW = 63016
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


class RewritingHttpClient(TwilioHttpClient):
    """twilio's own requests-based client, sending ``*.twilio.com`` calls to ``base_url``.

    With the default base URL nothing is rewritten, so Twilio regions and
    edges (``api.dublin.ie1.twilio.com``) keep working in production.
    """

    def __init__(self, base_url: str = DEFAULT_API_BASE_URL, *, timeout: float = 20.0) -> None:
        super().__init__(pool_connections=True, timeout=timeout)
        self.base_url = base_url.rstrip("/")
        self._local = threading.local()

    def log_request(self, kwargs: dict[str, Any]) -> None:
        # twilio logs every request and its headers at INFO; one DEBUG line is enough.
        log.debug("Twilio API %s %s", kwargs.get("method"), kwargs.get("url"))

    def log_response(self, status_code: int, response: Any) -> None:
        log.debug("Twilio API answered HTTP %s", status_code)

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
        """The Retry-After of this thread's last throttled or failed response."""
        return getattr(self._local, "retry_after", None)

    def request(  # type: ignore[override]
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
        self._local.retry_after = None
        response = super().request(
            method, self.rewrite(url), params=params, data=data, headers=headers,
            auth=auth, timeout=timeout, allow_redirects=allow_redirects,
        )
        if response.status_code == 429 or response.status_code >= 500:
            header = (response.headers or {}).get("Retry-After")
            self._local.retry_after = retry_after_seconds(header)
        return response


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
    if isinstance(exc, requests.Timeout):
        return RetryLater(f"Twilio timed out ({type(exc).__name__})")
    if isinstance(exc, requests.RequestException):
        return RetryLater(f"Twilio unreachable ({type(exc).__name__})")
    raise TypeError(f"not a Twilio send error: {exc!r}")


def _detail(exc: Any) -> str:
    # TwilioRestException.__str__ paints ANSI colours on a terminal; use the raw fields.
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", None) or ""
    return str(text)[:300]
