"""The console's web plumbing: templates, the logged-in staff dependency, CSRF, errors, headers.

Every console route uses :class:`ConsoleRoute`, which turns "not logged
in" into a redirect to the login page (pages) or a bare 401 (API, media,
exports, any POST), renders errors as pages, and puts the security headers
on every response, error or not.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.console import auth
from bot.errors import NotFound
from bot.staff_models import StaffSession, StaffUser
from bot.staffdesk import DeskActionError

if TYPE_CHECKING:
    from bot.web.services import Services

HERE = Path(__file__).resolve().parent
TZ = ZoneInfo("America/Hermosillo")
COOKIE = "seguro_console"
LOGIN_CSRF_COOKIE = "seguro_console_login"
PREFIX = "/console"
#: Paths answered with 401 instead of the login page: they return data, not pages.
API_PREFIXES = (f"{PREFIX}/api/", f"{PREFIX}/media/", f"{PREFIX}/reports/tickets.csv")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")


def fmt_time(value: datetime | None, *, date: bool = True) -> str:
    """A timestamp as staff read it, on campus time: "10 feb 14:05"."""
    if value is None:
        return ""
    local = value.astimezone(TZ)
    clock = local.strftime("%H:%M")
    return f"{local.day} {_MONTHS[local.month - 1]} {clock}" if date else clock


def fmt_age(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} días"


_env = Environment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["time"] = fmt_time
_env.filters["clock"] = lambda v: fmt_time(v, date=False)
_env.filters["age"] = fmt_age
_env.filters["hide"] = lambda text, hidden: _hide(text, hidden or [])
_env.filters["tojson_attr"] = lambda v: json.dumps(v)
_BOLD = re.compile(r"\*([^*\n]+)\*")


def whatsapp_format(text: str) -> Markup:
    """A message as WhatsApp (and the web chat) shows it: ``*bold*`` in bold; everything else as text.

    The text is escaped first, so only the ``<strong>`` made here is markup.
    """
    return Markup(_BOLD.sub(r"<strong>\1</strong>", str(escape(text))))


_env.filters["whatsapp"] = whatsapp_format


def _hide(text: str, hidden: list[str]) -> str:
    from bot.console.views import hide_personal

    return hide_personal(text, hidden)


def render(template: str, request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
    ctx: Ctx | None = getattr(request.state, "console", None)
    # Whether WhatsApp replies after 24 hours of silence can go out at all (the approved template).
    has_template = bool(ctx and ctx.services.settings.twilio_template_content_sid)
    # Minutes without activity after which a held chat goes back to the bot (0: never).
    hold_minutes = ctx.services.settings.hold_timeout_minutes if ctx else 0
    html = _env.get_template(template).render(
        request=request, me=ctx.staff if ctx else None, csrf=ctx.csrf if ctx else "", prefix=PREFIX,
        has_template=has_template, hold_minutes=hold_minutes, **context
    )
    return HTMLResponse(html, status_code=status_code)


def render_fragment(template: str, **context: Any) -> str:
    return _env.get_template(template).render(prefix=PREFIX, **context)


class NotLoggedIn(Exception):
    """No valid session: the route class answers with the login page or 401."""


class Forbidden(Exception):
    """Logged in, but the role does not allow it."""


@dataclass
class Ctx:
    """The request's logged-in staff member and what routes need with it."""

    services: Services
    staff: StaffUser
    session_row: StaffSession

    @property
    def csrf(self) -> str:
        return self.session_row.csrf_token


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def is_https(services: Services) -> bool:
    return services.settings.public_base_url.lower().startswith("https://")


def _lookup(services: Services, token: str | None) -> tuple[StaffUser, StaffSession] | None:
    with services.session() as session:
        found = auth.current(session=session, token=token, now=services.now())
        if found:
            # The idle timer's touch is written before the rows leave the session (an expunged
            # row's change is never flushed: staff were logged out 2 hours after logging in).
            session.flush()
            session.expunge(found[0])
            session.expunge(found[1])
        return found


async def require_staff(request: Request) -> Ctx:
    services = get_services(request)
    found = await run_in_threadpool(_lookup, services, request.cookies.get(COOKIE))
    if found is None:
        raise NotLoggedIn()
    ctx = Ctx(services=services, staff=found[0], session_row=found[1])
    request.state.console = ctx
    return ctx


async def require_admin(ctx: Annotated[Ctx, Depends(require_staff)]) -> Ctx:
    if not ctx.staff.is_admin:
        raise Forbidden()
    return ctx


StaffCtx = Annotated[Ctx, Depends(require_staff)]
AdminCtx = Annotated[Ctx, Depends(require_admin)]


async def posted(request: Request, ctx: Ctx) -> FormData:
    """The submitted form, after checking its CSRF token (form field ``csrf`` or header ``X-CSRF-Token``)."""
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception as exc:  # malformed bodies are the client's fault
        raise HTTPException(400, "Formulario inválido.") from exc
    given = request.headers.get("x-csrf-token") or form.get("csrf")
    if not auth.csrf_ok(ctx.csrf, given if isinstance(given, str) else None):
        raise HTTPException(403, "La sesión del formulario caducó. Recarga la página e inténtalo otra vez.")
    return form


def field(form: FormData, name: str, limit: int = 5000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.url.path.startswith(API_PREFIXES)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES) or request.method not in ("GET", "HEAD")


def error_response(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render("error.html", request, status_code=status, status=status, message=message)


def unauthenticated(request: Request) -> Response:
    if _is_api(request):
        response: Response = JSONResponse({"error": "Inicia sesión."}, status_code=401)
    else:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


def security_headers(response: Response, services: Services | None) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if services is not None and is_https(services):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"


class ConsoleRoute(APIRoute):
    """Every console route: login errors → login page / 401, errors → pages, headers always."""

    def get_route_handler(self) -> Any:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except NotLoggedIn:
                response = unauthenticated(request)
            except Forbidden:
                response = error_response(request, 403, "Esta sección es solo para administradores.")
            except DeskActionError as exc:
                response = error_response(request, exc.status, exc.message)
            except NotFound:
                response = error_response(request, 404, "No existe.")
            except RequestValidationError:
                response = error_response(request, 400, "Petición inválida.")
            except HTTPException as exc:
                response = error_response(request, exc.status_code, str(exc.detail))
            security_headers(response, getattr(request.app.state, "services", None))
            return response

        return handler


def set_session_cookie(response: Response, services: Services, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(auth.ABSOLUTE_TIMEOUT.total_seconds()), path=PREFIX,
                        secure=is_https(services), httponly=True, samesite="lax")
