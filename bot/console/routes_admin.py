"""Admin pages: staff accounts, canned responses, the audit log, reports and the CSV export."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from bot.console import auth, reports, views
from bot.console.views import ACTION_LABELS, detail_text
from bot.console.web import PREFIX, AdminCtx, ConsoleRoute, field, posted, render
from bot.models import utcnow
from bot.staff_models import AuditEntry, CannedResponse, Role, StaffSession, StaffUser
from bot.staffdesk import Action, DeskActionError, audit, release_chats_of

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute)
AUDIT_PAGE = 100
# --- staff -------------------------------------------------------------------


#: What the staff page says after a change (codes in the URL, never data).
STAFF_NOTICES = {"ok": "Cambios guardados.",
                 "password": "Contraseña cambiada; las sesiones abiertas de esa cuenta se cerraron. "
                             "Dásela a la persona en privado (no por correo ni por chat)."}


@router.get("/admin/staff", include_in_schema=False)
def staff_page(request: Request, ctx: AdminCtx) -> Response:
    with ctx.services.session() as session:
        people = auth.list_staff(session=session)
    return render("staff.html", request, people=people, roles=Role.ALL, min_password=auth.MIN_PASSWORD_LENGTH,
                  notice=STAFF_NOTICES.get(request.query_params.get("m", "")))


@router.post("/admin/staff", include_in_schema=False)
async def staff_submit(request: Request, ctx: AdminCtx) -> Response:
    form = await posted(request, ctx)
    op, email = field(form, "op", 20), field(form, "email", 255)

    def work() -> str:
        with ctx.services.session() as session:
            if op == "password":
                # A forgotten or leaked password, without the command line; one's own is not reset here
                # (it would end the very session doing it).
                if auth.normalize_email(email) == ctx.staff.email:
                    raise auth.AccountError("Tu propia contraseña no se cambia aquí: usa «Mi contraseña», "
                                            "arriba (te pide la actual).")
                staff = auth.set_password(session=session, email=email, password=field(form, "password", 1024))
                audit(session, staff=ctx.staff, action=Action.STAFF_PASSWORD, target=staff.id)
                return "password"
            if op == "add":
                staff = auth.create_staff(session=session, email=email, name=field(form, "name", 255),
                                          role=field(form, "role", 16), password=field(form, "password", 1024))
                audit(session, staff=ctx.staff, action=Action.STAFF_ADD, target=staff.id, role=staff.role)
            elif op in ("disable", "enable"):
                if op == "disable" and auth.normalize_email(email) == ctx.staff.email:
                    raise auth.AccountError("No puedes desactivar tu propia cuenta.")
                staff = auth.set_active(session=session, email=email, active=op == "enable")
                audit(session, staff=ctx.staff, action=Action.STAFF_UPDATE, target=staff.id, active=staff.active)
                if not staff.active:
                    release_chats_of(session=session, kb=ctx.services.kb, staff=staff, by=ctx.staff)
            elif op == "role":
                role = field(form, "role", 16)
                staff = session.exec(select(StaffUser).where(StaffUser.email == auth.normalize_email(email))).first()
                if staff is None or role not in Role.ALL:
                    raise auth.AccountError("Cuenta o rol inválido.")
                if staff.id == ctx.staff.id:
                    raise auth.AccountError("No puedes cambiar tu propio rol.")
                staff.role = role
                session.execute(StaffSession.__table__.delete().where(StaffSession.__table__.c.staff_id == staff.id))  # type: ignore[attr-defined]
                audit(session, staff=ctx.staff, action=Action.STAFF_UPDATE, target=staff.id, role=role)
            else:
                raise auth.AccountError("Operación desconocida.")
            return "ok"

    try:
        code = await run_in_threadpool(work)
    except auth.AccountError as exc:
        with ctx.services.session() as session:
            people = auth.list_staff(session=session)
        # What was typed comes back (never a password): the new account's name, e-mail and role;
        # a colleague's password form open again under the error.
        draft = {"name": field(form, "name", 255), "email": email, "role": field(form, "role", 16)} \
            if op == "add" else None
        return render("staff.html", request, 400, people=people, roles=Role.ALL, error=str(exc), draft=draft,
                      reset_open=auth.normalize_email(email) if op == "password" else "",
                      min_password=auth.MIN_PASSWORD_LENGTH)
    ctx.services.notify_outbox()  # a disabled account's chats: the students are told, and answered
    return RedirectResponse(f"{PREFIX}/admin/staff?m={code}", status_code=303)


# --- canned responses ----------------------------------------------------------


@router.get("/admin/canned", include_in_schema=False)
def canned_page(request: Request, ctx: AdminCtx) -> Response:
    with ctx.services.session() as session:
        items = list(session.exec(select(CannedResponse).order_by(col(CannedResponse.title))))
    return render("canned.html", request, items=items)


@router.post("/admin/canned", include_in_schema=False)
async def canned_submit(request: Request, ctx: AdminCtx) -> Response:
    form = await posted(request, ctx)
    op = field(form, "op", 20)
    title, body = field(form, "title", 120).strip(), field(form, "body", 4000).strip()
    try:
        item_id = int(field(form, "id", 12) or 0)
    except ValueError:
        item_id = 0

    def work() -> None:
        with ctx.services.session() as session:
            item = session.get(CannedResponse, item_id) if item_id else None
            if op == "delete" and item is not None:
                session.delete(item)
            elif op == "save":
                if not title or not body:
                    raise DeskActionError("Escribe un título y el texto (no solo espacios).", status=400)
                if item is None:
                    item = CannedResponse(title=title, body=body)
                    session.add(item)
                else:
                    item.title, item.body, item.updated_at = title, body, utcnow()
            audit(session, staff=ctx.staff, action=Action.CANNED, op=op, canned_id=item_id or None)

    try:
        await run_in_threadpool(work)
    except DeskActionError as exc:
        # The page again, with the reason and what was typed in the form that was sent.
        with ctx.services.session() as session:
            items = list(session.exec(select(CannedResponse).order_by(col(CannedResponse.title))))
        draft = {"id": item_id, "title": field(form, "title", 120), "body": field(form, "body", 4000)}
        return render("canned.html", request, exc.status, items=items, error=exc.message, draft=draft)
    return RedirectResponse(f"{PREFIX}/admin/canned", status_code=303)


# --- audit ---------------------------------------------------------------------


@router.get("/admin/audit", include_in_schema=False)
def audit_page(request: Request, ctx: AdminCtx) -> Response:
    action = request.query_params.get("action", "")
    action = action if action in Action.ALL else ""
    try:
        page = max(0, int(request.query_params.get("page", "0")))
        ticket = int(request.query_params.get("ticket", "0") or 0)
    except ValueError:
        page, ticket = 0, 0
    with ctx.services.session() as session:
        stmt = select(AuditEntry)
        count = select(func.count()).select_from(AuditEntry)
        if action:
            stmt, count = stmt.where(AuditEntry.action == action), count.where(AuditEntry.action == action)
        if ticket:
            stmt, count = stmt.where(AuditEntry.ticket_id == ticket), count.where(AuditEntry.ticket_id == ticket)
        entries = list(session.exec(stmt.order_by(col(AuditEntry.id).desc()).offset(page * AUDIT_PAGE).limit(AUDIT_PAGE)))
        total = session.exec(count).one()
        names = views.staff_names(session)
    return render("audit.html", request, entries=entries, names=names, action=action, ticket=ticket or "",
                  page=page, more=(page + 1) * AUDIT_PAGE < total, labels=ACTION_LABELS, detail_text=detail_text)


# --- reports -------------------------------------------------------------------


@router.get("/reports", include_in_schema=False)
def reports_page(request: Request, ctx: AdminCtx) -> Response:
    now = ctx.services.now()
    start, end = reports.parse_range(request.query_params.get("desde"), request.query_params.get("hasta"),
                                     now.astimezone(reports.TZ).date())
    with ctx.services.session() as session:
        report = reports.build(session, start=start, end=end, now=now)
    day_labels = [f"{d.day}/{d.month}" for d in report.days]
    charts: dict[str, Any] = {
        "per_day": reports.bars_svg(day_labels, [("conversaciones", report.conversations_per_day, "series-a"),
                                                 ("reportes", report.tickets_per_day, "series-b")],
                                    title="Conversaciones y reportes por día"),
        "by_reason": reports.hbars_svg([(views.REASONS.get(r, r), report.by_reason.get(r, 0)) for r in views.REASONS],
                                       title="Reportes por motivo"),
        "backlog": reports.hbars_svg(report.backlog, title="Reportes abiertos por antigüedad", css="series-b"),
    }
    return render("reports.html", request, report=report, charts=charts, fmt=reports.fmt_minutes)


@router.get("/reports/tickets.csv", include_in_schema=False)
def tickets_export(request: Request, ctx: AdminCtx) -> Response:
    now = ctx.services.now()
    start, end = reports.parse_range(request.query_params.get("desde"), request.query_params.get("hasta"),
                                     now.astimezone(reports.TZ).date())
    with ctx.services.session() as session:
        body = reports.tickets_csv(session, start=start, end=end)
        audit(session, staff=ctx.staff, action=Action.EXPORT, start=start.isoformat(), end=end.isoformat())
    filename = f"reportes_{start.isoformat()}_{end.isoformat()}.csv"
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
