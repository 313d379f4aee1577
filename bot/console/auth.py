"""Staff accounts, passwords, server-side sessions, the login throttle and CSRF tokens.

Passwords are argon2id hashes (argon2-cffi's defaults). A session is a row
keyed by the SHA-256 of a random cookie value, so a stolen database gives
no usable cookie, logout deletes the row, and expiry (idle and absolute) is
checked on every request. Failed logins are rows too: the throttle counts
them in the database, so it holds across every worker and restart, per
account *and address* (someone guessing a colleague's password from
elsewhere slows down only themselves: the real user, from their own
address, still gets in) and per address over all accounts (one address
cannot try many accounts quickly either).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from bot.errors import SeguroBotError
from bot.models import utcnow
from bot.staff_models import LoginAttempt, Role, StaffSession, StaffUser

#: A session dies after this long without a request, and after ABSOLUTE in any case.
IDLE_TIMEOUT = timedelta(hours=2)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
#: Failed logins are counted over this window.
THROTTLE_WINDOW = timedelta(minutes=15)
#: Free failures before waits start, per account from one address and per address over every
#: account; waits double up to the cap.
FREE_FAILURES_ACCOUNT = 5
FREE_FAILURES_IP = 20
FIRST_WAIT_SECONDS = 30
MAX_WAIT_SECONDS = 15 * 60
MIN_PASSWORD_LENGTH = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()
#: Verified against when the account does not exist, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


class AccountError(SeguroBotError):
    """A staff account cannot be created or changed; the message is Spanish, for the person."""


@dataclass(frozen=True)
class LoginResult:
    staff: StaffUser | None
    #: The new session's cookie value (only on success).
    token: str | None = None
    #: Seconds to wait when throttled.
    wait_seconds: int = 0


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_staff(*, session: Session, email: str, name: str, role: str, password: str) -> StaffUser:
    """A new active account; raises :class:`AccountError` on a bad email, role, password or duplicate."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email) or len(email) > 255:
        raise AccountError("Correo inválido.")
    if role not in Role.ALL:
        raise AccountError("El rol debe ser agent o admin.")
    if not name.strip():
        raise AccountError("Falta el nombre.")
    check_password_strength(password, email=email, name=name)
    if session.exec(select(StaffUser).where(StaffUser.email == email)).first() is not None:
        raise AccountError(f"Ya existe una cuenta con el correo {email}.")
    staff = StaffUser(email=email, name=name.strip()[:255], role=role, password_hash=hash_password(password))
    session.add(staff)
    session.flush()
    return staff


def _plain(text: str) -> str:
    """Lower case, without spaces, dots, dashes or underscores: "Ana.Lopez" and "ana lopez" are one."""
    return re.sub(r"[\s._\-]+", "", text.casefold())


def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password that is easy to guess, with a Spanish sentence saying what to change.

    At least :data:`MIN_PASSWORD_LENGTH` characters; not only digits (a phone number, a date, an
    employee number); not one character repeated; not the account's e-mail, its user part
    (before the @) or the person's name, in any case and spacing.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"La contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres.")
    if password.strip().isdigit():
        raise AccountError("La contraseña no puede ser solo números (como un teléfono o una fecha): "
                           "agrega letras o signos.")
    if len(set(password)) == 1:
        raise AccountError("La contraseña no puede ser un mismo carácter repetido.")
    plain = _plain(password)
    email = normalize_email(email)
    taken = {_plain(email), _plain(email.split("@")[0]), _plain(name)} - {""}
    if plain in taken:
        raise AccountError("La contraseña no puede ser el correo ni el nombre de la cuenta.")


def set_active(*, session: Session, email: str, active: bool) -> StaffUser:
    """Enable or disable an account; disabling also ends its sessions at once."""
    staff = session.exec(select(StaffUser).where(StaffUser.email == normalize_email(email))).first()
    if staff is None:
        raise AccountError(f"No existe la cuenta {normalize_email(email)}.")
    staff.active = active
    if not active:
        session.execute(delete(StaffSession).where(col(StaffSession.staff_id) == staff.id))
    session.flush()
    return staff


def set_password(*, session: Session, email: str, password: str) -> StaffUser:
    """A new password for an account (forgotten, or leaked); its sessions end at once."""
    staff = session.exec(select(StaffUser).where(StaffUser.email == normalize_email(email))).first()
    if staff is None:
        raise AccountError(f"No existe la cuenta {normalize_email(email)}.")
    check_password_strength(password, email=staff.email, name=staff.name)
    staff.password_hash = hash_password(password)
    session.execute(delete(StaffSession).where(col(StaffSession.staff_id) == staff.id))
    session.flush()
    return staff


@dataclass(frozen=True)
class OwnPasswordResult:
    #: The new session's cookie value (the change ends every session of the account, this one too).
    token: str | None = None
    #: A Spanish sentence for the person when the change was refused.
    error: str = ""
    #: Seconds to wait when too many wrong current passwords came from this address.
    wait_seconds: int = 0


def change_own_password(*, session: Session, staff_id: int, current: str, new: str, repeated: str, ip: str,
                        now: datetime | None = None) -> OwnPasswordResult:
    """A staff member changes their own password: the current one, then the new one twice.

    A wrong current password counts as a failed login of the account from this address (the same
    throttle: a session left open on a shared computer gives no faster way to guess it). On
    success every session of the account ends and a new one is returned for this browser.
    """
    now = now or utcnow()
    staff = session.get(StaffUser, staff_id)
    if staff is None or not staff.active:
        return OwnPasswordResult(error="Tu cuenta ya no está activa.")
    ip = (ip or "?")[:64]
    wait = throttle_wait(session=session, email=staff.email, ip=ip, now=now)
    if wait > 0:
        return OwnPasswordResult(wait_seconds=wait)
    if not verify_password(staff.password_hash, current):
        session.add(LoginAttempt(email=staff.email, ip=ip, ok=False, at=now))
        return OwnPasswordResult(error="La contraseña actual no es correcta.")
    if new != repeated:
        return OwnPasswordResult(error="Las dos contraseñas nuevas no coinciden; escríbelas otra vez.")
    if new == current:
        return OwnPasswordResult(error="La contraseña nueva debe ser distinta de la actual.")
    try:
        check_password_strength(new, email=staff.email, name=staff.name)
    except AccountError as exc:
        return OwnPasswordResult(error=str(exc))
    staff.password_hash = hash_password(new)
    session.execute(delete(StaffSession).where(col(StaffSession.staff_id) == staff.id))
    token = new_session(session=session, staff=staff, now=now)
    return OwnPasswordResult(token=token)


def list_staff(*, session: Session) -> list[StaffUser]:
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.email))))


def login(*, session: Session, email: str, password: str, ip: str, now: datetime | None = None,
          old_token: str | None = None) -> LoginResult:
    """Check the throttle, then the password; on success a fresh session replaces ``old_token``'s.

    A throttled try does not even check the password, so guessing gains nothing while waiting;
    nor is it counted as a failure (the staff member who retries too soon would only wait longer).
    """
    now = now or utcnow()
    email = normalize_email(email)[:255]
    ip = (ip or "?")[:64]
    wait = throttle_wait(session=session, email=email, ip=ip, now=now)
    if wait > 0:
        return LoginResult(staff=None, wait_seconds=wait)
    staff = session.exec(select(StaffUser).where(StaffUser.email == email)).first()
    valid = verify_password(staff.password_hash if staff else _DUMMY_HASH, password)
    if staff is None or not valid or not staff.active:
        session.add(LoginAttempt(email=email, ip=ip, ok=False, at=now))
        return LoginResult(staff=None)
    session.add(LoginAttempt(email=email, ip=ip, ok=True, at=now))
    if old_token:
        logout(session=session, token=old_token)
    staff.last_login_at = now
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    token = new_session(session=session, staff=staff, now=now)
    return LoginResult(staff=staff, token=token)


def throttle_wait(*, session: Session, email: str, ip: str, now: datetime) -> int:
    """Seconds until the next try is allowed for this account from this address (0: go ahead).

    Two counts of recent failures: this account from this address, and this
    address over every account. Never the account alone, which anyone could
    run up to lock its owner out.
    """
    since = now - THROTTLE_WINDOW
    waits = [0]
    for where, free in (((LoginAttempt.email == email, LoginAttempt.ip == ip), FREE_FAILURES_ACCOUNT),
                        ((LoginAttempt.ip == ip,), FREE_FAILURES_IP)):
        count, last = session.exec(
            select(func.count(), func.max(LoginAttempt.at))
            .where(*where, LoginAttempt.ok == False, col(LoginAttempt.at) >= since)  # noqa: E712
        ).one()
        if count >= free and last is not None:
            if last.tzinfo is None:
                from datetime import timezone

                last = last.replace(tzinfo=timezone.utc)
            delay = min(FIRST_WAIT_SECONDS * 2 ** (count - free), MAX_WAIT_SECONDS)
            remaining = (last + timedelta(seconds=delay) - now).total_seconds()
            waits.append(max(0, int(remaining + 0.999)))
    return max(waits)


def wait_label(seconds: int) -> str:
    """How long a throttled login must wait, as staff read it: "40 s", "3 min"."""
    return f"{seconds} s" if seconds < 60 else f"{max(1, round(seconds / 60))} min"


def new_session(*, session: Session, staff: StaffUser, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(id=token_id(token), staff_id=staff.id, csrf_token=secrets.token_urlsafe(32),  # type: ignore[arg-type]
                             created_at=now, last_seen_at=now, expires_at=now + ABSOLUTE_TIMEOUT))
    session.flush()
    return token


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def current(*, session: Session, token: str | None, now: datetime | None = None) -> tuple[StaffUser, StaffSession] | None:
    """The staff member and session of a cookie value, or None when missing, expired or disabled.

    Touches ``last_seen_at`` at most once a minute, to keep the idle timer without a write per request.
    """
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.get(StaffSession, token_id(token))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now:
        session.delete(row)
        return None
    staff = session.get(StaffUser, row.staff_id)
    if staff is None or not staff.active:
        session.delete(row)
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return staff, row


def logout(*, session: Session, token: str) -> None:
    session.execute(delete(StaffSession).where(col(StaffSession.id) == token_id(token)))


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def purge_expired(*, session: Session, now: datetime | None = None) -> None:
    """Old sessions and login attempts: nothing to keep them for."""
    now = now or utcnow()
    session.execute(delete(StaffSession).where(col(StaffSession.expires_at) <= now))
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) <= now - timedelta(days=1)))
