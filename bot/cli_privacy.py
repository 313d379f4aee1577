"""``seguro-bot purge`` and ``seguro-bot student export|forget``: the privacy law's duties by hand.

``purge`` applies the retention period now (the server also does it daily
with ``RETENTION_DAYS``); ``student export`` answers an access request with
a JSON file of everything held about the student; ``student forget``
answers a cancellation request. What "anonymised" means is in
:mod:`bot.privacy`. Outputs hold counts and ids only, never the data itself,
except the export, which is the data on purpose (to stdout or a file).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

student_app = typer.Typer(help="A student's data: export (access) or forget (cancellation).",
                          no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: DATABASE_URL).")]
ChannelOption = Annotated[str | None, typer.Option("--channel", help="whatsapp, telegram, webchat or console.")]
AddressOption = Annotated[str | None, typer.Option(
    "--address", help="The student's address on that channel: +52… on WhatsApp, the chat id on Telegram, "
                      "the session id on the web chat.")]
StudentIdOption = Annotated[str | None, typer.Option("--student-id", help="The ITSON student ID (matrícula).")]
NssOption = Annotated[str | None, typer.Option(
    "--nss", help="The student's NSS: finds every contact (other web chat sessions, channels) that gave it.")]
CurpOption = Annotated[str | None, typer.Option("--curp", help="The student's CURP, the same way as --nss.")]


def _open(db: str | None) -> tuple[Any, Any]:
    """(engine, media store) from the settings; exit 2 on an unusable database."""
    from bot.cli import _open_database, _settings
    from bot.media import MediaStore

    settings = _settings()
    return _open_database(db or settings.database_url), MediaStore(settings.media_dir)


def purge(
    older_than: Annotated[str, typer.Option("--older-than", help="Age past which closed conversations go, e.g. 180d, 26w, 6m, 1y.")],
    db: DbOption = None,
) -> None:
    """Anonymise closed conversations, tickets, messages, webhook payloads and files past retention."""
    from bot.privacy import delete_files, parse_age, purge as run_purge
    from bot.storage import session_scope

    try:
        age = parse_age(older_than)
    except ValueError as exc:
        typer.echo(f"seguro-bot purge: {exc}", err=True)
        raise typer.Exit(2) from None
    engine, media = _open(db)
    try:
        with session_scope(engine) as session:
            report = run_purge(session, older_than=age)
        with session_scope(engine) as session:
            delete_files(session, media, report)
    finally:
        engine.dispose()
    typer.echo(json.dumps({"older_than_days": age.days, **report.as_dict()}))


STUDENT_CHANNELS = ("whatsapp", "telegram", "webchat", "console")


def _check_output(output: Path | None) -> None:
    """Refuse, before any work, an --output that cannot be written."""
    if output is None:
        return
    if output.is_dir():
        typer.echo(f"seguro-bot student: --output {output} is a folder; give a file name", err=True)
        raise typer.Exit(2)
    if not output.parent.is_dir():
        typer.echo(f"seguro-bot student: the folder of --output ({output.parent}) does not exist", err=True)
        raise typer.Exit(2)


def _who(channel: str | None, address: str | None, student_id: str | None, nss: str | None = None,
         curp: str | None = None) -> None:
    from flows.entities import curp_problem, nss_problem

    if not (student_id or nss or curp) and not (channel and address):
        typer.echo("seguro-bot student: give --channel and --address, --student-id, --nss or --curp", err=True)
        raise typer.Exit(2)
    if bool(channel) != bool(address):
        typer.echo("seguro-bot student: --channel and --address go together", err=True)
        raise typer.Exit(2)
    if channel and channel not in STUDENT_CHANNELS:
        typer.echo(f"seguro-bot student: --channel is one of {', '.join(STUDENT_CHANNELS)}", err=True)
        raise typer.Exit(2)
    if nss and nss_problem("".join(ch for ch in nss if ch.isdigit())):
        typer.echo("seguro-bot student: --nss is not a valid NSS (11 digits, check digit)", err=True)
        raise typer.Exit(2)
    if curp and curp_problem("".join(curp.split()).upper()):
        typer.echo("seguro-bot student: --curp is not a valid CURP", err=True)
        raise typer.Exit(2)


def _included(found: list[tuple[Any, list[str]]]) -> list[dict[str, Any]]:
    """Which contacts an export or forget covers and what found each (ids only: this goes to the terminal)."""
    return [{"contact": c.id, "channel": c.channel, "found_by": why} for c, why in found]


def _say_included(found: list[tuple[Any, list[str]]]) -> None:
    lines = [f"  {c.channel} contact {c.id} (by {', '.join(why)})" for c, why in found]
    typer.echo("contacts included:\n" + "\n".join(lines), err=True)


@student_app.command("export")
def export(
    channel: ChannelOption = None,
    address: AddressOption = None,
    student_id: StudentIdOption = None,
    nss: NssOption = None,
    curp: CurpOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the JSON here instead of stdout.")] = None,
    db: DbOption = None,
) -> None:
    """Everything held about one student, as JSON (the right of access)."""
    from bot.privacy import export as run_export, locate_contacts
    from bot.storage import session_scope

    _who(channel, address, student_id, nss, curp)
    _check_output(output)
    engine, media = _open(db)
    try:
        with session_scope(engine) as session:
            found = locate_contacts(session, channel=channel, address=address, student_id=student_id,
                                    nss=nss, curp=curp)
            if not found:
                typer.echo("seguro-bot student export: no data held for that student", err=True)
                raise typer.Exit(1)
            data = run_export(session, [c for c, _ in found], media)
            data["included"] = _included(found)
    finally:
        engine.dispose()
    _say_included(found)
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        # Created readable by its owner only: it is the student's personal data.
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        output.chmod(0o600)  # an existing file keeps its old mode through O_TRUNC
        typer.echo(f"exported {len(data['contacts'])} contact(s), {len(data['messages'])} message(s) to {output}",
                   err=True)


@student_app.command("forget")
def forget(
    channel: ChannelOption = None,
    address: AddressOption = None,
    student_id: StudentIdOption = None,
    nss: NssOption = None,
    curp: CurpOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Delete or anonymise everything held about one student, files too (the right of cancellation)."""
    from bot.privacy import delete_files, forget as run_forget, locate_contacts
    from bot.storage import session_scope

    _who(channel, address, student_id, nss, curp)
    engine, media = _open(db)
    try:
        with session_scope(engine) as session:
            found = locate_contacts(session, channel=channel, address=address, student_id=student_id,
                                    nss=nss, curp=curp)
            if not found:
                typer.echo("seguro-bot student forget: no data held for that student", err=True)
                raise typer.Exit(1)
            contacts = [c for c, _ in found]
            included = _included(found)
            _say_included(found)
            summary = ", ".join(f"{c.channel} contact {c.id}" for c in contacts)
            if not yes and not typer.confirm(
                f"Forget {summary}: messages, tickets' data, payloads and files, irreversibly?", err=True
            ):
                typer.echo("nothing changed", err=True)
                raise typer.Exit(1)
            report = run_forget(session, contacts)
        with session_scope(engine) as session:
            delete_files(session, media, report)
    finally:
        engine.dispose()
    typer.echo(json.dumps({"contacts": len(contacts), **report.as_dict(), "included": included}))
