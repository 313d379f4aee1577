"""``seguro-bot staff add|list|disable|enable|passwd``: the console's accounts from the command line.

The first admin can only be created here (there is no sign-up page); later
ones can also be added from the console's "Personal" page.
"""
from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

staff_app = typer.Typer(help="Staff accounts of the web console.", no_args_is_help=True)


def _engine():  # type: ignore[no-untyped-def]
    from bot import staff_models  # noqa: F401  (registers the tables)
    from bot.config import Settings
    from bot.storage import init_db, make_engine

    engine = make_engine(Settings().database_url)
    init_db(engine)
    return engine


def add_staff(*, database_url: str | None, email: str, name: str, role: str, password: str) -> int:
    """Create an account (the function the command and the tests call); returns its id."""
    from bot import staff_models  # noqa: F401
    from bot.console.auth import create_staff
    from bot.storage import init_db, make_engine, session_scope

    engine = make_engine(database_url) if database_url else _engine()
    init_db(engine)
    try:
        with session_scope(engine) as session:
            staff = create_staff(session=session, email=email, name=name, role=role, password=password)
            return int(staff.id)  # type: ignore[arg-type]
    finally:
        engine.dispose()


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
    from bot.console.auth import AccountError
    from bot.config import Settings

    password = _read_password(password_stdin)
    try:
        add_staff(database_url=Settings().database_url, email=email, name=name, role=role, password=password)
    except AccountError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Cuenta creada: {email.strip().lower()} ({role})")


@staff_app.command("list")
def list_() -> None:
    """Every account: email, role, active, last login."""
    from bot.console.auth import list_staff
    from bot.storage import session_scope

    engine = _engine()
    with session_scope(engine) as session:
        for s in list_staff(session=session):
            last = s.last_login_at.isoformat(timespec="minutes") if s.last_login_at else "-"
            typer.echo(f"{s.email}\t{s.name}\t{s.role}\t{'activa' if s.active else 'desactivada'}\t{last}")
    engine.dispose()


def _change_account(change: Callable[[Any], object]) -> None:
    """Run ``change(session)`` in one transaction; an account error is said in one line (exit 1).
    A text ``change`` returns is said after the commit."""
    from bot.console.auth import AccountError
    from bot.storage import session_scope

    engine = _engine()
    try:
        with session_scope(engine) as session:
            said = change(session)
    except AccountError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if isinstance(said, str):
        typer.echo(said)


@staff_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="Correo de la cuenta")]) -> None:
    """Disable an account and end its sessions at once; the chats it holds go back to the bot."""
    from bot.console.auth import set_active
    from bot.staffdesk import release_chats_of

    def change(session: Any) -> str | None:
        staff = set_active(session=session, email=email, active=False)
        released = release_chats_of(session=session, staff=staff)
        return f"{released} chat(s) que atendía volvieron al bot; sus reportes siguen abiertos." if released else None

    _change_account(change)
    typer.echo(f"Cuenta desactivada: {email.strip().lower()}")


@staff_app.command("enable")
def enable(email: Annotated[str, typer.Argument(help="Correo de la cuenta")]) -> None:
    """Enable a disabled account again (its password is the one it had)."""
    from bot.console.auth import set_active

    _change_account(lambda session: set_active(session=session, email=email, active=True))
    typer.echo(f"Cuenta activada: {email.strip().lower()}")


@staff_app.command("passwd")
def passwd(
    email: Annotated[str, typer.Argument(help="Correo de la cuenta")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Leer la contraseña de la entrada estándar")] = False,
) -> None:
    """Set a new password for an account (forgotten or leaked); its open sessions end."""
    from bot.console.auth import set_password

    password = _read_password(password_stdin)
    _change_account(lambda session: set_password(session=session, email=email, password=password))
    typer.echo(f"Contraseña cambiada: {email.strip().lower()} (sus sesiones abiertas se cerraron)")
