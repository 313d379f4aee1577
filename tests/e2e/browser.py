"""Debian's Chromium for the browser tests: where it is, how it starts, where screenshots go.

Never a downloaded browser: Playwright drives ``/usr/bin/chromium``
(``.ci/run`` installs it). The flags keep it from reaching out to Google's
services, which this machine's closed network refuses. The module-scoped
``chromium`` fixture that uses them lives in ``tests/e2e/conftest.py``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent / "screenshots"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

requires_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
