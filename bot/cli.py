"""The ``seguro-bot`` command line: serve, simulate, chat, knowledge check, db, telegram.

Heavy imports (SQLModel, the flows) happen inside the commands, so
``seguro-bot --help`` stays fast and a broken optional piece only breaks the
command that needs it.
"""
from __future__ import annotations

import getpass
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.config import Settings
    from bot.desk import Handled
    from knowledge.loader import KnowledgeBase

log = logging.getLogger("bot.cli")

#: Where the desk is; times without an offset are read here.
DESK_TZ = ZoneInfo("America/Hermosillo")
CHANNELS = ("console", "whatsapp", "telegram")
#: Ticket fields shown only partly in the terminal (and, later, the console).
MASKED_FIELDS = frozenset({"nss", "curp"})
TICKET_LABELS = {"student_id": "ID ITSON", "name": "nombre", "nss": "NSS", "curp": "CURP", "email": "correo"}

app = typer.Typer(
    name="seguro-bot",
    help="Mesa de ayuda del Seguro Facultativo (IMSS) para estudiantes del ITSON.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
knowledge_app = typer.Typer(help="Check the knowledge base (knowledge/).", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(db_app, name="db")

from bot.cli_staff import staff_app  # noqa: E402  (sub-commands live beside their features)
from bot.cli_telegram import telegram_app  # noqa: E402
from bot.cli_whatsapp import whatsapp_app  # noqa: E402

app.add_typer(telegram_app, name="telegram")
app.add_typer(whatsapp_app, name="whatsapp")
app.add_typer(staff_app, name="staff")
# issue 6: retention and the student's access/cancellation rights (bot/cli_privacy.py)
from bot.cli_privacy import purge as _purge_command, student_app  # noqa: E402

app.command("purge")(_purge_command)
app.add_typer(student_app, name="student")


def main() -> None:
    """Console-script entry point."""
    app()


# --- shared helpers ------------------------------------------------------------


def _settings() -> Settings:
    from pydantic import ValidationError

    from bot.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        # Each problem by its variable, never the value given (it may be a secret).
        for error in exc.errors(include_input=False, include_url=False):
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            typer.echo(f"seguro-bot: invalid settings: {name}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc


def _install_logging(settings: Settings, *, quiet: bool) -> None:
    from bot.logging import install

    secrets = [
        s.get_secret_value()
        for s in (settings.twilio_auth_token, settings.telegram_bot_token, settings.telegram_webhook_secret)
        if s is not None
    ]
    level = settings.log_level.upper()
    if quiet and logging.getLevelName(level) in (logging.DEBUG, logging.INFO):
        level = "WARNING"
    install(level, secrets=secrets)


def _load_kb(knowledge_dir: Path | None) -> KnowledgeBase:
    """The knowledge base, or exit 2 listing what is wrong with it."""
    from knowledge.loader import KnowledgeError, load

    try:
        return load(knowledge_dir)
    except KnowledgeError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo("seguro-bot: the knowledge base has errors (run `seguro-bot knowledge check`)", err=True)
        raise typer.Exit(2) from exc


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def _open_database(url: str, *, migrate: bool = False) -> Engine:
    """An engine on a usable schema, or exit 2 saying why the database cannot be used.

    An empty database is created (``migrate``: by running the migrations, as
    ``serve`` does; otherwise by ``create_all``); an outdated one is refused
    with a message naming ``seguro-bot db upgrade``.
    """
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from bot.schema import ensure_schema
    from bot.storage import make_engine

    try:
        engine = make_engine(url)
    except (ArgumentError, ImportError, ValueError) as exc:
        typer.echo(f"seguro-bot: unusable database URL {_safe_url(url)}: {exc}", err=True)
        raise typer.Exit(2) from exc
    from bot.errors import SchemaOutdated

    try:
        ensure_schema(engine, empty="migrate" if migrate else "create_all")
    except SchemaOutdated as exc:
        engine.dispose()
        typer.echo(f"seguro-bot: cannot use database {_safe_url(url)}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        engine.dispose()
        _cannot_open(url, exc)
    return engine


def _mask(value: Any) -> str:
    """First characters and asterisks: enough to recognise, not to reuse."""
    text = str(value)
    keep = 4 if len(text) > 8 else 1
    return text[:keep] + "*" * (len(text) - keep)


def masked_ticket_data(data: dict[str, Any]) -> dict[str, str]:
    """A ticket's collected data with NSS and CURP masked, for showing on screen (the desk's own
    ``_…`` bookkeeping, such as the values a correction replaced, is not data: left out)."""
    return {k: (_mask(v) if k in MASKED_FIELDS else str(v)) for k, v in data.items() if not k.startswith("_")}


# --- serve ----------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (share the database; "
                                         "use PostgreSQL for more than one).")] = 1,
) -> None:
    """Run the service: webhooks, the web chat (/chat) and /healthz.

    With no configuration it uses ./seguro-bot.db and only the web chat is on.
    An empty database is migrated; an outdated one is refused (run `seguro-bot db upgrade`).
    """
    import uvicorn

    settings = _settings()
    _install_logging(settings, quiet=False)
    _load_kb(settings.knowledge_dir)  # fail here, with the problems listed, not inside uvicorn
    _open_database(settings.database_url, migrate=True).dispose()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        # It works (SQLite serialises the writers), but slower than one worker, and not across machines.
        typer.echo("seguro-bot: warning: several workers on SQLite share one file and wait on each other's "
                   "writes; use PostgreSQL (DATABASE_URL) for more than one worker", err=True)
    if workers > 1:
        typer.echo(f"seguro-bot: web chat on http://{host}:{port}/chat, staff console on http://{host}:{port}/console "
                   f"({workers} workers)", err=True)
        # Each worker process builds its own app from the environment (bot.web.factory).
        uvicorn.run("bot.web.factory:create_app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_config=None, proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
                    server_header=False)
        return

    from bot.web.app import create_app

    app_ = create_app(settings)
    from bot.heap import settle

    settle(app_)  # the start-up's objects out of the collector's way (bot/heap.py)
    typer.echo(f"seguro-bot: web chat on http://{host}:{port}/chat, staff console on http://{host}:{port}/console",
               err=True)
    # log_config=None keeps our handler (which masks personal data and secrets) in charge.
    # X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (the load balancer): the web chat's
    # per-address limit and the login throttle key on the client address it gives.
    uvicorn.run(app_, host=host, port=port, log_config=None, proxy_headers=True,
                forwarded_allow_ips=settings.forwarded_allow_ips, server_header=False)


# --- simulate -------------------------------------------------------------------


class LineError(Exception):
    """An input line of ``simulate`` that cannot be processed as a message."""


def _parse_at(value: Any) -> datetime:
    if value is None:
        return datetime.now(DESK_TZ)
    if not isinstance(value, str):
        raise LineError('"at" must be an ISO 8601 string')
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise LineError(f'"at" is not an ISO 8601 date-time: {value[:60]!r}') from exc
    if at.tzinfo is None:  # no offset: the desk's local time
        at = at.replace(tzinfo=DESK_TZ)
    return at


def _clean_str(text: str) -> str:
    """Lone surrogates (valid as JSON escapes, invalid in UTF-8) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def _parse_line(raw: str) -> tuple[str, str, datetime, str]:
    """(conversation, text, at, channel) of one input line, or :class:`LineError`."""
    if not raw.strip():
        raise LineError("invalid JSON: the line is blank")
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise LineError(f"invalid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise LineError("the line is not a JSON object")
    conversation = obj.get("conversation")
    if not isinstance(conversation, str):
        raise LineError('"conversation" must be a string')
    conversation = _clean_str(conversation)
    text = obj.get("text")
    if not isinstance(text, str):
        raise LineError('"text" must be a string', conversation)
    channel = obj.get("channel")
    if channel is None:
        channel = "console"
    if channel not in CHANNELS:
        raise LineError(f'"channel" must be one of {", ".join(CHANNELS)}', conversation)
    try:
        at = _parse_at(obj.get("at"))
    except LineError as exc:
        raise LineError(exc.args[0], conversation) from exc
    return conversation, _clean_str(text), at, channel


def _result_line(conversation: str, handled: Handled) -> dict[str, Any]:
    ticket = None
    if handled.ticket is not None:
        ticket = {"id": handled.ticket.id, "reason": handled.ticket.reason, "status": handled.ticket.status}
    return {
        "conversation": conversation,
        "topic": handled.topic,
        "state": handled.state.get("stage"),
        "replies": [r.plain() for r in handled.replies],
        "ticket": ticket,
    }


@contextmanager
def _database(db: str | None) -> Iterator[str]:
    """``db``, or a fresh SQLite file that disappears afterwards."""
    if db:
        yield db
        return
    with tempfile.TemporaryDirectory(prefix="seguro-bot-simulate-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'simulate.db'}"


def _open_input(file: str) -> IO[str]:
    if file == "-":
        stdin = sys.stdin
        if hasattr(stdin, "reconfigure"):
            stdin.reconfigure(encoding="utf-8", errors="replace")
        return stdin
    return open(file, encoding="utf-8", errors="replace")


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


@app.command()
def simulate(
    file: Annotated[str, typer.Argument(help="JSON Lines file of student messages, or - for standard input.")],
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: a fresh temporary SQLite database).")
    ] = None,
    knowledge_dir: Annotated[
        Path | None, typer.Option("--knowledge-dir", help="Knowledge folder (default: KNOWLEDGE_DIR or the packaged one).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each message to stderr.")] = False,
) -> None:
    """Replay scripted student messages through the real bot; one JSON line out per line in."""
    settings = _settings()
    _install_logging(settings, quiet=not verbose)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
    kb = _load_kb(knowledge_dir or settings.knowledge_dir)

    from bot.desk import handle_message
    from bot.storage import session_scope
    from flows.messages import Incoming

    try:
        stream = _open_input(file)
    except OSError as exc:
        typer.echo(f"seguro-bot simulate: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc

    with _database(db) as url:
        engine = _open_database(url)
        try:
            # The storage channel of a conversation is the first one it used in
            # this run, so "same conversation value" stays one chat even if a
            # later line names another channel.
            storage_channel: dict[str, str] = {}
            for number, raw in enumerate(stream, start=1):
                # Output line N answers input line N (simulate.md): a blank line is
                # not valid JSON, so it gets an error line like any bad line.
                conversation: str | None = None
                try:
                    conversation, text, at, channel = _parse_line(raw)
                    store_as = storage_channel.setdefault(conversation, channel)
                    with session_scope(engine) as session:
                        handled = handle_message(
                            session=session,
                            kb=kb,
                            channel=store_as,
                            address=conversation,
                            provider_id=None,
                            message=Incoming(text=text, at=at, channel=channel),
                            now=at,  # the rows dated as the transcript says (a replay reads as it happened)
                        )
                        out = _result_line(conversation, handled)
                except LineError as exc:
                    known = exc.args[1] if len(exc.args) > 1 else conversation
                    _emit(_error_line(number, known, str(exc.args[0])))
                    continue
                except Exception as exc:  # never stop the run on one line
                    log.exception("line %d failed", number)
                    _emit(_error_line(number, conversation, _internal_error(exc)))
                    continue
                _emit(out)
        except BrokenPipeError:
            # The reader went away (``simulate ... | head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(1) from None
        finally:
            if stream is not sys.stdin:
                stream.close()
            engine.dispose()


def _internal_error(exc: Exception) -> str:
    """A short, personal-data-free description of an unexpected failure (details go to the log)."""
    from flows.entities import mask_personal

    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"internal error: {type(exc).__name__}: {mask_personal(first)}".rstrip(": ")


def _error_line(number: int, conversation: str | None, message: str) -> dict[str, Any]:
    line: dict[str, Any] = {"line": number}
    if conversation is not None:
        line["conversation"] = conversation
    line["error"] = message[:500]
    return line


# --- chat -----------------------------------------------------------------------

CHAT_HELP = (
    "Escribe como lo harías por WhatsApp. Comandos:\n"
    "  /ayuda      muestra esta ayuda\n"
    "  /reiniciar  empieza una conversación nueva\n"
    "  /salir      termina (también Ctrl-D o Ctrl-C)"
)


@app.command()
def chat(
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: DATABASE_URL).")] = None,
    channel: Annotated[str, typer.Option("--channel", help="Channel to pretend to be.")] = "console",
    knowledge_dir: Annotated[Path | None, typer.Option("--knowledge-dir", help="Knowledge folder.")] = None,
) -> None:
    """Talk to the bot in the terminal, as a student would."""
    from rich.console import Console

    settings = _settings()
    _install_logging(settings, quiet=True)
    if channel not in CHANNELS:
        typer.echo(f"seguro-bot chat: --channel must be one of {', '.join(CHANNELS)}", err=True)
        raise typer.Exit(2)
    kb = _load_kb(knowledge_dir or settings.knowledge_dir)

    url = db or settings.database_url
    engine = _open_database(url)
    try:
        _chat_loop(Console(), engine=engine, kb=kb, channel=channel, address=f"terminal-{_user()}", url=url)
    finally:
        engine.dispose()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "estudiante"


def _chat_loop(console: Any, *, engine: Any, kb: Any, channel: str, address: str, url: str) -> None:
    from rich.panel import Panel
    from rich.text import Text

    from bot.desk import find_conversation, handle_message, reset_conversation
    from bot.storage import session_scope
    from flows.messages import Incoming

    console.print(
        Panel(
            Text.assemble(
                ("Seguro Facultativo IMSS", "bold"),
                " · Mesa de ayuda ITSON\n",
                (f"Conversación {address} ({channel}) · base de datos {_safe_url(url)}\n", "dim"),
                ("/ayuda para ver los comandos · /salir para terminar", "dim"),
            ),
            title="🩺 seguro-bot",
            border_style="cyan",
        )
    )
    while True:
        try:
            text = console.input("[bold cyan]Tú[/] › ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            break
        command = text.strip().lower()
        if not command:
            continue
        if command in ("/salir", "/exit", "/quit"):
            break
        if command in ("/ayuda", "/help"):
            console.print(Panel(Text(CHAT_HELP), title="Ayuda", border_style="dim"))
            continue
        if command in ("/reiniciar", "/reset"):
            with session_scope(engine) as session:
                conversation = find_conversation(session=session, channel=channel, address=address)
                if conversation is not None:
                    reset_conversation(session=session, conversation_id=conversation.id)
            console.rule("[dim]conversación nueva[/]")
            continue
        try:
            with console.status("[dim]escribiendo…[/]", spinner="dots"):
                with session_scope(engine) as session:
                    handled = handle_message(
                        session=session,
                        kb=kb,
                        channel=channel,
                        address=address,
                        provider_id=None,
                        message=Incoming(text=text, at=datetime.now(DESK_TZ), channel=channel),
                        display_name=_user(),
                    )
        except KeyboardInterrupt:
            console.print()
            break
        except Exception as exc:
            log.exception("chat message failed")
            console.print(Panel(Text(f"Algo falló: {type(exc).__name__}: {exc}"), border_style="red"))
            continue
        _show_handled(console, handled)
    console.print("[dim]¡Hasta luego! 👋[/]")


_BOLD = re.compile(r"\*([^*\n]+)\*")


def _whatsapp_text(text: str) -> Any:
    """A rich Text with WhatsApp's ``*bold*`` shown as bold (and the asterisks dropped)."""
    from rich.text import Text

    out = Text()
    last = 0
    for match in _BOLD.finditer(text):
        out.append(text[last:match.start()])
        out.append(match.group(1), style="bold")
        last = match.end()
    out.append(text[last:])
    return out


def _show_handled(console: Any, handled: Handled) -> None:
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from flows.entities import mask_personal

    if not handled.replies:
        console.print(Text("(Una persona del equipo atiende este chat; el bot no responde.)", style="dim italic"))
    for reply in handled.replies:
        body = _whatsapp_text(reply.text)
        if reply.options:
            body.append("\n")
            width = max(len(o.key) for o in reply.options)
            for option in reply.options:
                body.append("\n")
                body.append(f" {option.key:>{width}} ", style="bold black on cyan")
                body.append(f" {option.label}")
        console.print(Panel(body, title="🤖 Bot", title_align="left", border_style="green", expand=False))
    if handled.topic:
        console.print(Text(f"  tema: {handled.topic}", style="dim"))
    ticket = handled.ticket
    if ticket is not None:
        opened = ticket.created_at == ticket.updated_at
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for key, value in masked_ticket_data(ticket.data or {}).items():
            table.add_row(TICKET_LABELS.get(key, key), value)
        if ticket.description:
            table.add_row("descripción", mask_personal(ticket.description))
        if ticket.attachments:
            table.add_row("adjuntos", str(len(ticket.attachments)))
        table.add_row("estado", ticket.status)
        verb = "abierto" if opened else "actualizado"
        console.print(
            Panel(table, title=f"🎫 Ticket #{ticket.id} {verb} ({ticket.reason})", title_align="left",
                  border_style="bold yellow", expand=False)
        )


# --- knowledge ------------------------------------------------------------------


@knowledge_app.command("check")
def knowledge_check(
    dir: Annotated[
        Path | None, typer.Option("--dir", help="Knowledge folder (default: KNOWLEDGE_DIR or the packaged one).")
    ] = None,
) -> None:
    """Validate the knowledge base; problems name the file, line and topic."""
    from knowledge.loader import KnowledgeError, check, load

    root = dir
    if root is None:
        root = _settings().knowledge_dir
    problems = list(check(root))
    kb = None
    if not problems:
        try:
            kb = load(root)
        except KnowledgeError as exc:
            problems = list(exc.problems)
    if problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"knowledge: {len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    topics = getattr(kb, "topics", None)
    typer.echo(f"knowledge OK: {len(topics) if topics is not None else 0} topics")


@knowledge_app.command("test")
def knowledge_test(
    dir: Annotated[
        Path | None, typer.Option("--dir", help="Knowledge folder (default: KNOWLEDGE_DIR or the packaged one).")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option("--tests", help="Folder of conversation tests (default: <knowledge>/tests).")
    ] = None,
) -> None:
    """Run the conversation tests (knowledge/tests/*.yaml) through the bot."""
    from bot.stories import run_all
    from knowledge.loader import KnowledgeError, load

    root = dir if dir is not None else _settings().knowledge_dir
    try:
        kb = load(root)
    except KnowledgeError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo("knowledge: fix the problems above first (seguro-bot knowledge check)", err=True)
        raise typer.Exit(2) from exc
    report = run_all(kb, tests)
    for failure in report.failures:
        typer.echo(f"FAIL {failure}", err=True)
    passed = report.stories - len({(f.file, f.story) for f in report.failures})
    typer.echo(f"{passed} passed, {report.stories - passed} failed ({report.turns} turns)")
    if report.failures or report.stories == 0:
        raise typer.Exit(1)


# --- db -------------------------------------------------------------------------


@db_app.command("init")
def db_init(
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: DATABASE_URL).")] = None,
) -> None:
    """Create the schema of an empty database (refuses an outdated one: see `db upgrade`)."""
    url = db or _settings().database_url
    _open_database(url).dispose()
    typer.echo(f"database ready: {_safe_url(url)}")


@db_app.command("upgrade")
def db_upgrade(
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: DATABASE_URL).")] = None,
) -> None:
    """Run the pending schema migrations (the deploy step before starting a new version)."""
    from bot.errors import SchemaOutdated
    from bot.schema import upgrade

    from sqlalchemy.exc import SQLAlchemyError

    url = db or _settings().database_url
    engine = _engine_or_exit(url)
    try:
        before, after = upgrade(engine)
    except SchemaOutdated as exc:
        typer.echo(f"seguro-bot: cannot upgrade {_safe_url(url)}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        _cannot_open(url, exc)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"database {_safe_url(url)} already at revision {after}")
    else:
        typer.echo(f"database {_safe_url(url)} upgraded from {before or 'empty'} to {after}")


@db_app.command("current")
def db_current(
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: DATABASE_URL).")] = None,
) -> None:
    """Show the database's schema revision and whether it is up to date (exit 1 when not)."""
    from bot.schema import current_revision, head_revision, state

    from sqlalchemy.exc import SQLAlchemyError

    url = db or _settings().database_url
    engine = _engine_or_exit(url)
    try:
        with engine.connect() as connection:
            revision, found = current_revision(connection), state(connection)
    except SQLAlchemyError as exc:
        _cannot_open(url, exc)
    finally:
        engine.dispose()
    typer.echo(f"{_safe_url(url)}: revision {revision or '-'} ({found}; this version needs {head_revision()})")
    if found != "current":
        raise typer.Exit(1)


def _cannot_open(url: str, exc: Exception) -> NoReturn:
    """One line, as ``serve`` says it (a wrong password or a missing database is no crash)."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    typer.echo(f"seguro-bot: cannot open database {_safe_url(url)}: {reason}", err=True)
    raise typer.Exit(2) from exc


def _engine_or_exit(url: str) -> Engine:
    from sqlalchemy.exc import ArgumentError

    from bot.storage import make_engine

    try:
        return make_engine(url)
    except (ArgumentError, ImportError, ValueError) as exc:
        typer.echo(f"seguro-bot: unusable database URL {_safe_url(url)}: {exc}", err=True)
        raise typer.Exit(2) from exc


if __name__ == "__main__":  # pragma: no cover
    main()
