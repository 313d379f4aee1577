"""Keeping the garbage collector's pauses out of the students' replies.

CPython's full (generation 2) collection walks every container object the
process holds. A worker holds a few hundred thousand that live as long as it
does (the knowledge base and its matcher, SQLAlchemy's mappers, FastAPI's
routes), and each full collection walked them all again: measured on a
worker of this service, 42 to 122 ms each, growing as the heap grew, one of
them in the middle of the first burst of webhooks (a quarter of its
duration, and every reply in flight then arrived that much later).

:func:`settle` builds what is built lazily (the matcher), collects once and
moves everything alive into CPython's permanent generation
(:func:`gc.freeze`), which collections skip. What the worker allocates
afterwards is collected as usual, so garbage still goes away; only the
objects that existed at start-up are never looked at again, and those stay
alive anyway. Called once per worker process, by the entry points that serve
(``seguro-bot serve`` and the worker factory), not by ``create_app``, so a
test process that makes many apps keeps collecting them.
"""
from __future__ import annotations

import gc
from typing import Any


def settle(app: Any) -> int:
    """Build the lazy parts of ``app``'s knowledge base, collect, freeze; returns the objects frozen."""
    services = getattr(app.state, "services", None)
    if services is not None:
        services.kb.matcher  # noqa: B018 - built now, not at the first student's message
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
