"""A limit per client address on the public web chat, held for the whole deployment.

The web chat needs no credentials, so anyone can open sessions: without a
limit, one script makes hundreds of conversations a minute (each one stored
and run through the bot). ``WEBCHAT_RATE_LIMIT`` messages a minute per
client address (the request's client host; behind a proxy, the address
uvicorn takes from ``X-Forwarded-For`` when the proxy is in
``FORWARDED_ALLOW_IPS``) are accepted, in bursts of up to that many; more
get 429 with a Spanish message the page shows, until the address is under
the rate again.

The count is a row of ``send_rate`` (:class:`bot.models.SendRate`, the
table of the provider send rates) updated under a row lock, with the same
generic cell-rate algorithm, so the limit holds across every worker. Unlike
the send rates it *refuses* instead of reserving: a refused message leaves
the row as it was, so a client that keeps flooding is let through again at
the limit's pace. The key holds a hash of the address, not the address;
idle rows are deleted with the send-rate rows (``bot.sendrate.prune``).
"""
from __future__ import annotations

import hashlib
import time

from sqlalchemy import text
from sqlmodel import Session, col, select

from bot.models import SendRate

#: What a client over the limit reads in the web chat.
MESSAGE = ("Se recibieron demasiados mensajes desde tu conexión en poco tiempo. "
           "Espera un minuto y vuelve a intentarlo.")
KEY_PREFIX = "webchat-client:"


def key_for(host: str) -> str:
    return KEY_PREFIX + hashlib.sha256(host.encode("utf-8", "replace")).hexdigest()[:40]


def admit(session: Session, host: str, per_minute: int) -> float:
    """0 if a message from ``host`` is allowed now (and counted), else the seconds to wait.

    Runs in the caller's transaction, which must commit at once (the row stays locked until then).
    """
    if per_minute <= 0:
        return 0.0
    postgres = session.get_bind().dialect.name == "postgresql"
    key = key_for(host)
    if postgres:
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    session.execute(insert(SendRate).values(key=key, tat=0.0).on_conflict_do_nothing())
    now = (float(session.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
           if postgres else time.time())
    stmt = select(SendRate).where(col(SendRate.key) == key)
    if postgres:
        stmt = stmt.with_for_update()
    row = session.exec(stmt.execution_options(populate_existing=True)).one()
    interval = 60.0 / per_minute
    earliest = row.tat - (per_minute - 1) * interval  # a burst of per_minute is allowed
    if now < earliest:
        return earliest - now
    row.tat = max(row.tat, now) + interval
    session.add(row)
    session.flush()
    return 0.0
