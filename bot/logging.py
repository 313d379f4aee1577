"""Logging that never writes a student's personal data or our secrets.

:class:`PersonalDataFilter` rewrites every record that reaches a handler:
the formatted message and any traceback go through
:func:`flows.entities.mask_personal` (NSS, CURP, ...), and configured secret
values (tokens; the Telegram file URL contains the bot token) become ``***``.
It sits on the handler, not on a logger, so records propagated from every
library logger are filtered too.
"""
from __future__ import annotations

import copy
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from flows.entities import mask_personal

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Set by the test run's log audit (``tests/log_audit.py``): a folder where every process
#: that installs our logging also writes each record, for the audit to search at the end.
AUDIT_ENV = "SEGURO_BOT_LOG_AUDIT"


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


class AuditHandler(logging.Handler):
    """Test runs only: every record, as production's handler formats it, to ``<folder>/<pid>.log``.

    It masks personal data exactly as :class:`PersonalDataFilter` does on the
    real handler, but without the configured secrets (a token passes the
    audit only if it was never logged at all). It works on a copy, so the
    real handler still sees the record as it was logged. It is first among
    the root handlers and gets records down to INFO even when ``LOG_LEVEL``
    is higher (the real handler keeps that level).
    """

    def __init__(self, folder: str) -> None:
        super().__init__(logging.INFO)
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.stream = (Path(folder) / f"{os.getpid()}.log").open("a", encoding="utf-8", errors="backslashreplace")
        self.setFormatter(logging.Formatter(FORMAT))
        self.masking = PersonalDataFilter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            clone = copy.copy(record)
            self.masking.filter(clone)
            self.stream.write(self.format(clone) + "\n")
            self.stream.flush()
        except Exception:  # never break the service for the audit
            self.handleError(record)

    def close(self) -> None:
        self.stream.close()
        super().close()


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
            if isinstance(old, AuditHandler):
                old.close()
    handler._seguro_bot = True  # type: ignore[attr-defined]
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    audit = os.environ.get(AUDIT_ENV)
    if audit:
        recorder = AuditHandler(audit)
        recorder._seguro_bot = True  # type: ignore[attr-defined]
        root.addHandler(recorder)  # before the real handler, whose filter rewrites the record
        handler.setLevel(numeric)
        numeric = min(numeric, logging.INFO)
    root.addHandler(handler)
    root.setLevel(numeric)
    return handler
