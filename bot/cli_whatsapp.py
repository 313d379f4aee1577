"""``seguro-bot whatsapp ...``: operations on the WhatsApp channel.

``requeue-unrouted`` is the second half of adding a desk number: messages
students sent to it before it was in ``TWILIO_WHATSAPP_NUMBERS`` were
acknowledged and kept, never answered (``/healthz`` says how many); this
puts the last 24 hours of them back in the queue (:mod:`bot.unrouted`).
"""
from __future__ import annotations

from typing import Annotated

import typer

whatsapp_app = typer.Typer(help="WhatsApp: answer messages sent to a desk number before it was configured.",
                           no_args_is_help=True)


@whatsapp_app.command("requeue-unrouted")
def requeue_unrouted_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be put back.")] = False,
) -> None:
    """Answer the messages of the last 24 h sent to a number that is now in TWILIO_WHATSAPP_NUMBERS.

    Run it after adding the number and restarting the service: the service
    answers them within a second (or when it starts, if it is not running).
    """
    from pydantic import ValidationError

    from bot.config import Settings
    from bot.models import utcnow
    from bot.phones import e164, number_key
    from bot.storage import make_engine, session_scope
    from bot.unrouted import requeue_unrouted

    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(f"seguro-bot: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc
    keys = {number_key(n) for n in (e164(raw) for raw in settings.twilio_whatsapp_numbers) if n}
    if not keys:
        typer.echo("seguro-bot: TWILIO_WHATSAPP_NUMBERS is empty: add the desk number there first.", err=True)
        raise typer.Exit(2)

    def is_desk_number(address: str | None) -> bool:
        key = number_key(address)
        return key is not None and key in keys

    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            report = requeue_unrouted(session, is_desk_number=is_desk_number, now=utcnow(), dry_run=dry_run)
    finally:
        engine.dispose()
    verb = "would be put back" if dry_run else "put back in the queue"
    for desk, count in sorted(report.requeued.items()):
        typer.echo(f"{desk}: {count} message(s) {verb}")
    for desk, count in sorted(report.answered_since.items()):
        typer.echo(f"{desk}: {count} message(s) left: the student wrote to a number that is answered since")
    for desk, count in sorted(report.still_unrouted.items()):
        typer.echo(f"{desk}: {count} message(s) left: still not in TWILIO_WHATSAPP_NUMBERS")
    if not (report.requeued or report.answered_since or report.still_unrouted):
        typer.echo("No unanswered messages of the last 24 h to desk numbers that were not configured.")
    elif report.requeued and not dry_run:
        typer.echo("The running service answers them now (or when it starts).")
