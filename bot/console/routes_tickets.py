"""Login, the inbox, a ticket and its actions, the live-update API and attachments."""
from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.console import auth, views
from bot.console.web import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    ConsoleRoute,
    StaffCtx,
    error_response,
    field,
    get_services,
    is_https,
    posted,
    render,
    render_fragment,
    set_session_cookie,
)
from bot.staffdesk import Action, DeskActionError, TemplateNeeded, audit
from bot import staffdesk

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute)

#: Results of an action, shown once after the redirect (codes in the URL, never data).
NOTICES = {
    "taken": "Tomaste el chat: el bot ya no contesta y el estudiante sabe que lo atiendes.",
    "reassigned": "Ahora tú atiendes este chat (quedó registrado).",
    "sent": "Respuesta en cola para enviarse por el canal del estudiante.",
    "noted": "Nota interna guardada.",
    "resolved": "Reporte resuelto: se avisó al estudiante y el bot retoma la conversación.",
    "handed": "Chat devuelto al bot; el reporte sigue abierto. Si el estudiante escribió después de tu última "
              "respuesta, el bot ya le contestó.",
    "reopened": "Reporte reabierto.",
    "reason": "Motivo cambiado; quedó en el historial del reporte.",
    "nss": "NSS corregido: es válido (11 dígitos y su dígito verificador) y ya no está marcado «sin verificar».",
    "curp": "CURP corregida: es válida (18 caracteres y su carácter verificador) y ya no está marcada "
            "«sin verificar».",
}


def _safe_next(value: str | None) -> str:
    """Only console paths: an open redirect would make the login page a phishing tool."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and not urlsplit(value).netloc \
            and "\\" not in value:
        return value
    return f"{PREFIX}/inbox"


@router.api_route("/login", methods=["GET", "HEAD"], include_in_schema=False)
def login_page(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    # ?ended=1: a page of the console found its session over (logged out in another tab, or idle)
    ended = "Tu sesión terminó (se cerró en otra pestaña o por inactividad). Vuelve a entrar; lo que estabas escribiendo se guardó." \
        if request.query_params.get("ended") == "1" else None
    services = get_services(request)
    # The console's cookies are Secure: a page opened over http:// says so before a try that cannot
    # work (console.js shows it when the browser's own address is http://; a proxy's scheme may lie).
    https_url = _https_login(services) if is_https(services) else None
    response = render("login.html", request, next=_safe_next(request.query_params.get("next")), login_csrf=token,
                      error=None, notice=ended, https_url=https_url)
    _set_login_csrf(response, request, token)
    return response


def _set_login_csrf(response: Response, request: Request, token: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path=f"{PREFIX}/login",
                        secure=is_https(get_services(request)), httponly=True, samesite="strict")


@router.post("/login", include_in_schema=False)
async def login_submit(request: Request) -> Response:
    services = get_services(request)
    try:
        form = await request.form(max_files=0, max_fields=10)
    except Exception:
        return error_response(request, 400, "Formulario inválido.")
    email, password, nxt = field(form, "email", 255), field(form, "password", 1024), _safe_next(field(form, "next"))
    if not auth.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), field(form, "csrf")):
        token = secrets.token_urlsafe(24)
        if _secure_cookie_lost(request):
            error = (f"La consola debe abrirse por HTTPS, en la dirección configurada: {_https_login(services)} "
                     "(por http:// el navegador no guarda la sesión y no se puede entrar).")
        else:
            error = "La página de inicio caducó. Inténtalo otra vez."
        response = render("login.html", request, 403, next=nxt, login_csrf=token, email=email, error=error)
        _set_login_csrf(response, request, token)
        return response
    ip = request.client.host if request.client else "?"

    def work() -> auth.LoginResult:
        with services.session() as session:
            result = auth.login(session=session, email=email, password=password, ip=ip, now=services.now(),
                                old_token=request.cookies.get(COOKIE))
            if result.staff is not None:
                audit(session, staff=result.staff, action=Action.LOGIN, now=services.now())
            return result

    result = await run_in_threadpool(work)
    if result.token is None:
        if result.wait_seconds:
            seconds = result.wait_seconds
            wait = auth.wait_label(seconds)
            error, status = (f"Demasiados intentos fallidos. Espera {wait} antes de volver a intentar.", 429)
        else:
            error, status = ("Correo o contraseña incorrectos.", 401)
        token = secrets.token_urlsafe(24)
        response = render("login.html", request, status, next=nxt, login_csrf=token, email=email, error=error)
        _set_login_csrf(response, request, token)
        if result.wait_seconds:
            response.headers["Retry-After"] = str(result.wait_seconds)
        return response
    redirect = RedirectResponse(nxt, status_code=303)
    set_session_cookie(redirect, services, result.token)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
    return redirect


def _secure_cookie_lost(request: Request) -> bool:
    """The login page's cookie did not come back because it is Secure (PUBLIC_BASE_URL is https)
    and the page was opened over plain http://: the browser never kept it, so every try fails.

    The browser's own word for the scheme is the form's ``Origin``; without one, the request's
    (uvicorn takes it from ``X-Forwarded-Proto`` when the proxy is in FORWARDED_ALLOW_IPS).
    """
    if not is_https(get_services(request)) or request.cookies.get(LOGIN_CSRF_COOKIE):
        return False
    origin = request.headers.get("origin", "")
    if origin and origin != "null":
        return origin.lower().startswith("http://")
    return request.url.scheme == "http"


def _https_login(services: Any) -> str:
    return services.settings.public_base_url.rstrip("/") + f"{PREFIX}/login"


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, ctx: StaffCtx) -> Response:
    await posted(request, ctx)

    def work() -> None:
        with ctx.services.session() as session:
            auth.logout(session=session, token=request.cookies.get(COOKIE, ""))
            audit(session, staff=ctx.staff, action=Action.LOGOUT, now=ctx.services.now())

    await run_in_threadpool(work)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
def home(ctx: StaffCtx) -> Response:
    return RedirectResponse(f"{PREFIX}/inbox", status_code=303)


def _inbox(ctx: Any, request: Request, params: Any = None) -> tuple[views.Filters, views.Inbox]:
    filters = views.Filters.from_query(request.query_params if params is None else params)
    if params is None and request.query_params.get("q"):
        _hide_search_from_access_log(request)
    with ctx.services.session() as session:
        return filters, views.inbox(session, staff=ctx.staff, filters=filters, now=ctx.services.now())


def _hide_search_from_access_log(request: Request) -> None:
    """A search put in a URL by hand (``GET …/inbox?q=<NSS>``) still works, but the access log shows ``q=***``.

    uvicorn's access log formats the query of the very scope it handed to the app, when the
    response starts; the filters were already read from it. The page itself POSTs searches.
    """
    kept = [(k, v) for k, v in parse_qsl(request.scope.get("query_string", b"").decode("latin-1"),
                                          keep_blank_values=True) if k != "q"]
    request.scope["query_string"] = (urlencode(kept) + ("&" if kept else "") + "q=***").encode("latin-1")


@router.get("/inbox", include_in_schema=False)
def inbox_page(request: Request, ctx: StaffCtx) -> Response:
    filters, box = _inbox(ctx, request)
    return render("inbox.html", request, filters=filters, box=box, labels=views.LABELS)


@router.get("/api/inbox")
def inbox_poll(request: Request, ctx: StaffCtx) -> JSONResponse:
    """What the inbox page polls every few seconds (the database, so it works across workers)."""
    _, box = _inbox(ctx, request)
    html = render_fragment("_inbox_rows.html", box=box, labels=views.LABELS)
    return JSONResponse({"html": html, "unread": box.unread, "signature": box.signature})


# issue 6: the inbox's filter form is POSTed (page and polling), so a search by NSS or CURP never
# ends up in a URL (browser history, proxies, access logs). GET with a query still works.
@router.post("/inbox", include_in_schema=False)
async def inbox_search(request: Request, ctx: StaffCtx) -> Response:
    form = await posted(request, ctx)
    filters, box = await run_in_threadpool(_inbox, ctx, request, form)
    return render("inbox.html", request, filters=filters, box=box, labels=views.LABELS)


@router.post("/api/inbox", include_in_schema=False)
async def inbox_search_poll(request: Request, ctx: StaffCtx) -> JSONResponse:
    form = await posted(request, ctx)
    _, box = await run_in_threadpool(_inbox, ctx, request, form)
    html = render_fragment("_inbox_rows.html", box=box, labels=views.LABELS)
    return JSONResponse({"html": html, "unread": box.unread, "signature": box.signature})


@router.get("/api/unread")
def unread_poll(ctx: StaffCtx) -> JSONResponse:
    with ctx.services.session() as session:
        return JSONResponse({"unread": views.unread_count(session, staff=ctx.staff, now=ctx.services.now())})


def _page_data(ctx: Any, ticket_id: int, *, mark: bool = True) -> dict[str, Any]:
    with ctx.services.session() as session:
        data = views.ticket_page(session, ticket_id=ticket_id, staff=ctx.staff, now=ctx.services.now())
        if mark:
            views.mark_seen(session, staff=ctx.staff, conversation_id=data["conversation"].id)
        return data


@router.get("/tickets/{ticket_id}", include_in_schema=False)
def ticket_page(request: Request, ticket_id: int, ctx: StaffCtx) -> Response:
    data = _page_data(ctx, ticket_id)
    notice = NOTICES.get(request.query_params.get("m", ""))
    return render("ticket.html", request, notice=notice, labels=views.LABELS, **data)


@router.get("/api/tickets/{ticket_id}")
def ticket_poll(ticket_id: int, ctx: StaffCtx) -> JSONResponse:
    """The conversation, the history and the notes as HTML plus who holds it; the page swaps what changed."""
    data = _page_data(ctx, ticket_id)
    html = render_fragment("_messages.html", messages=data["messages"], authors=data["authors"], hidden=data["hidden"],
                           labels=views.LABELS)
    # The side cards a colleague's action changes (Historial, Notas internas), swapped the same way.
    history = render_fragment("_history.html", ticket=data["ticket"], history=data["history"],
                              opened_reason=data["opened_reason"], labels=views.LABELS)
    notes = render_fragment("_notes.html", notes=data["notes"], names=data["names"], hidden=data["hidden"])
    return JSONResponse({"html": html, "signature": data["signature"], "holder_id": data["holder_id"],
                         "status": data["ticket"].status, "last_id": data["last_id"],
                         "history_html": history, "notes_html": notes, "side_signature": data["side_signature"],
                         "reason_label": views.REASONS.get(data["ticket"].reason, data["ticket"].reason)})


@router.post("/api/tickets/{ticket_id}/typing", include_in_schema=False)
async def typing(request: Request, ticket_id: int, ctx: StaffCtx) -> JSONResponse:
    """The holder is typing on the ticket's page: their hold does not expire meanwhile (the page
    calls this at most every 30 s while they type). ``held``: whether they hold the chat."""
    await posted(request, ctx)

    def work() -> bool:
        with ctx.services.session() as session:
            return staffdesk.keep_hold(session=session, ticket_id=ticket_id, staff=ctx.staff, now=ctx.services.now())

    return JSONResponse({"held": await run_in_threadpool(work)})


async def _act(request: Request, ctx: Any, ticket_id: int, action: str) -> Response:
    form = await posted(request, ctx)
    services = ctx.services

    def work() -> str:
        with services.session() as session:
            now = services.now()
            if action == "take":
                claim = staffdesk.take_over(session=session, kb=services.kb, ticket_id=ticket_id, staff=ctx.staff,
                                            force=field(form, "force") == "1", now=now)
                return "reassigned" if claim.previous_staff_id else "taken"
            if action == "reply":
                staffdesk.reply(session=session, ticket_id=ticket_id, staff=ctx.staff, text=field(form, "text", 8000),
                                as_template=field(form, "template") == "1", now=now)
                return "sent"
            if action == "note":
                staffdesk.add_note(session=session, ticket_id=ticket_id, staff=ctx.staff,
                                   text=field(form, "text", 8000), now=now)
                return "noted"
            if action == "resolve":
                staffdesk.resolve(session=session, kb=services.kb, ticket_id=ticket_id, staff=ctx.staff, now=now)
                return "resolved"
            if action == "reason":
                staffdesk.change_reason(session=session, ticket_id=ticket_id, staff=ctx.staff,
                                        reason=field(form, "reason", 32), now=now)
                return "reason"
            if action == "handback":
                staffdesk.hand_back(session=session, kb=services.kb, ticket_id=ticket_id, staff=ctx.staff, now=now)
                return "handed"
            staffdesk.reopen(session=session, ticket_id=ticket_id, staff=ctx.staff, now=now)
            return "reopened"

    try:
        code = await run_in_threadpool(work)
    except DeskActionError as exc:
        if request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse({"error": exc.message, "template_needed": isinstance(exc, TemplateNeeded)},
                                status_code=exc.status)
        data = await run_in_threadpool(_page_data, ctx, ticket_id)
        # A refused note or reason is said where it was written, and a refused note's text goes back
        # in the note box (not the reply box: sending it to the student is one click away there).
        if action == "note":
            return render("ticket.html", request, exc.status, note_error=exc.message,
                          note_draft=field(form, "text", 8000), labels=views.LABELS, **data)
        if action == "reason":
            return render("ticket.html", request, exc.status, reason_error=exc.message, labels=views.LABELS, **data)
        return render("ticket.html", request, exc.status, error=exc.message, draft=field(form, "text", 8000),
                      template_needed=isinstance(exc, TemplateNeeded), labels=views.LABELS, **data)
    if code in ("taken", "sent", "resolved", "handed"):
        services.notify_outbox()
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"ok": code, "message": NOTICES[code]})
    return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?m={code}", status_code=303)


@router.post("/tickets/{ticket_id}/{action}", include_in_schema=False)
async def ticket_action(request: Request, ticket_id: int, action: str, ctx: StaffCtx) -> Response:
    if action == "reveal":
        return await reveal(request, ticket_id, ctx)
    if action == "correct":
        return await correct(request, ticket_id, ctx)
    if action not in ("take", "reply", "note", "resolve", "handback", "reopen", "reason"):
        return error_response(request, 404, "No existe.")
    return await _act(request, ctx, ticket_id, action)


async def reveal(request: Request, ticket_id: int, ctx: Any) -> Response:
    form = await posted(request, ctx)
    name = field(form, "field", 20)

    def work() -> str:
        with ctx.services.session() as session:
            return staffdesk.reveal(session=session, ticket_id=ticket_id, staff=ctx.staff, field=name,
                                    now=ctx.services.now())

    value = await run_in_threadpool(work)
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"field": name, "value": value})
    data = await run_in_threadpool(_page_data, ctx, ticket_id)
    for row in data["data_rows"]:
        if row["key"] == name:
            row["value"], row["masked"] = value, False
    return render("ticket.html", request, labels=views.LABELS, **data)


async def correct(request: Request, ticket_id: int, ctx: Any) -> Response:
    """Staff type the right NSS or CURP; checked as the bot checks it. Refused: the page again with
    the reason and what they typed (the ticket keeps its value)."""
    form = await posted(request, ctx)
    name, value = field(form, "field", 20), field(form, "value", 60)

    def work() -> None:
        with ctx.services.session() as session:
            staffdesk.correct_data(session=session, ticket_id=ticket_id, staff=ctx.staff, field=name, value=value,
                                   now=ctx.services.now())

    try:
        await run_in_threadpool(work)
    except DeskActionError as exc:
        data = await run_in_threadpool(_page_data, ctx, ticket_id)
        return render("ticket.html", request, exc.status, correct_error=exc.message,
                      correct_field=name if name in staffdesk.MASKED_FIELDS else "nss", correct_value=value,
                      labels=views.LABELS, **data)
    return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?m={name}", status_code=303)


@router.get("/media/{ref}")
def media(ref: str, ctx: StaffCtx) -> Response:
    """An attachment, for logged-in staff only; its type read from its bytes, never from its name."""
    served = ctx.services.media.serving(ref)
    if served is None:
        return JSONResponse({"error": "No existe."}, status_code=404)
    response = FileResponse(served.path, media_type=served.content_type,
                            content_disposition_type="inline" if served.inline else "attachment",
                            filename=ref)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
