"""``seguro-bot staff add|list|disable|enable|passwd``: the console's accounts from the command line.

The first admin can only be created here (there is no sign-up page); later
ones can also be added from the console's "Personal" page. The database is
opened as every other command opens it (bot.cli._open_database): an
unreachable or outdated one is one line and exit 2, not a traceback; and a
change says which database it went to (password masked), since the account
is only usable on the server reading that same ``DATABASE_URL``.
"""
from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

staff_app = typer.Typer(help="Staff accounts of the web console.", no_args_is_help=True)


@contextmanager
def _session(database_url: str | None = None) -> Iterator[tuple[Session, str]]:
    """(a session in one transaction, the database URL) on ``database_url`` or ``DATABASE_URL``.

    Exit 2 with one line when the database cannot be opened or used, also when it
    fails halfway (a restart between opening and writing): nothing was written then.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from bot.cli import _cannot_open, _open_database, _settings
    from bot.storage import session_scope

    url = database_url or _settings().database_url
    engine: Engine = _open_database(url)
    try:
        with session_scope(engine) as session:
            yield session, url
    except SQLAlchemyError as exc:
        _cannot_open(url, exc)
    finally:
        engine.dispose()


def _in(url: str) -> str:
    """" en <database>", password masked: which database a change went to."""
    from bot.cli import _safe_url

    return f" en {_safe_url(url)}"


def add_staff(*, database_url: str | None, email: str, name: str, role: str, password: str) -> int:
    """Create an account (the function the command and the tests call); returns its id."""
    from bot.console.auth import create_staff

    with _session(database_url) as (session, _url):
        staff = create_staff(session=session, email=email, name=name, role=role, password=password)
        return int(staff.id)  # type: ignore[arg-type]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Contraseña: ")
    if getpass.getpass("Repite la contraseña: ") != password:
        typer.echo("Las contraseñas no coinciden.", err=True)
        raise typer.Exit(1)
    return password


@staff_app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="Correo de la persona (su usuario)")],
    name: Annotated[str, typer.Option("--name", help="Nombre completo; al estudiante se le dice el primer nombre")],
    role: Annotated[str, typer.Option("--role", help="agent o admin")] = "agent",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Leer la contraseña de la entrada estándar")] = False,
) -> None:
    """Create a staff account; asks for the password unless --password-stdin."""
    from bot.cli import _settings
    from bot.console.auth import AccountError

    url = _settings().database_url
    password = _read_password(password_stdin)
    try:
        add_staff(database_url=url, email=email, name=name, role=role, password=password)
    except AccountError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Cuenta creada: {email.strip().lower()} ({role}){_in(url)}")


@staff_app.command("list")
def list_() -> None:
    """Every account: email, role, active, last login."""
    from bot.console.auth import list_staff

    with _session() as (session, _url):
        lines = []
        for s in list_staff(session=session):
            last = s.last_login_at.isoformat(timespec="minutes") if s.last_login_at else "-"
            lines.append(f"{s.email}\t{s.name}\t{s.role}\t{'activa' if s.active else 'desactivada'}\t{last}")
    for line in lines:
        typer.echo(line)


def _change_account(change: Callable[[Any], object]) -> str:
    """Run ``change(session)`` in one transaction; an account error is said in one line (exit 1).
    A text ``change`` returns is said after the commit. Returns the database URL it wrote to."""
    from bot.console.auth import AccountError

    try:
        with _session() as (session, url):
            said = change(session)
    except AccountError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if isinstance(said, str):
        typer.echo(said)
    return url


@staff_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="Correo de la cuenta")]) -> None:
    """Disable an account and end its sessions at once; the chats it holds go back to the bot."""
    from bot.config import Settings
    from bot.console.auth import set_active
    from bot.staffdesk import release_chats_of
    from knowledge.loader import load

    kb = load(Settings().knowledge_dir)  # the bot answers what those students wrote meanwhile

    def change(session: Any) -> str | None:
        staff = set_active(session=session, email=email, active=False)
        released = release_chats_of(session=session, kb=kb, staff=staff)
        return f"{released} chat(s) que atendía volvieron al bot; sus reportes siguen abiertos." if released else None

    url = _change_account(change)
    typer.echo(f"Cuenta desactivada: {email.strip().lower()}{_in(url)}")


@staff_app.command("enable")
def enable(email: Annotated[str, typer.Argument(help="Correo de la cuenta")]) -> None:
    """Enable a disabled account again (its password is the one it had)."""
    from bot.console.auth import set_active

    url = _change_account(lambda session: set_active(session=session, email=email, active=True))
    typer.echo(f"Cuenta activada: {email.strip().lower()}{_in(url)}")


@staff_app.command("passwd")
def passwd(
    email: Annotated[str, typer.Argument(help="Correo de la cuenta")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Leer la contraseña de la entrada estándar")] = False,
) -> None:
    """Set a new password for an account (forgotten or leaked); its open sessions end."""
    from bot.console.auth import set_password

    password = _read_password(password_stdin)
    url = _change_account(lambda session: set_password(session=session, email=email, password=password))
    typer.echo(f"Contraseña cambiada: {email.strip().lower()}{_in(url)} (sus sesiones abiertas se cerraron)")
