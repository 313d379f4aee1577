"""Logging that never writes a student's personal data or our secrets.

:class:`PersonalDataFilter` rewrites every record that reaches a handler:
the formatted message and any traceback go through
:func:`flows.entities.mask_personal` (NSS, CURP, ...), and configured secret
values (tokens; the Telegram file URL contains the bot token) become ``***``.
It sits on the handler, not on a logger, so records propagated from every
library logger are filtered too.
"""
from __future__ import annotations

import logging
from urllib.parse import quote
import sys
from collections.abc import Iterable

from flows.entities import mask_personal

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PersonalDataFilter(logging.Filter):
    """Masks personal data and secrets in each record; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        # Each secret also in its URL-encoded form: the Telegram file URL carries the
        # token as bot123%3AABC..., and httpx logs URLs encoded.
        forms = {form for s in secrets if s and len(s) >= 4 for form in (s, quote(s, safe=""), quote(s))}
        self._secrets = sorted(forms, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return mask_personal(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self._clean(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


def install(level: str | int = "INFO", *, secrets: Iterable[str] = ()) -> logging.Handler:
    """Send all logging to stderr through :class:`PersonalDataFilter`; returns the handler.

    Standard output stays free for command output (``simulate`` prints only JSON there).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(PersonalDataFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_seguro_bot", False):
            root.removeHandler(old)
    handler._seguro_bot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
