"""What every staff member does with their own account: change their password."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.console import auth
from bot.console.web import PREFIX, ConsoleRoute, StaffCtx, field, posted, render, set_session_cookie
from bot.staffdesk import Action, audit

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute)

DONE = ("Contraseña cambiada. Las demás sesiones abiertas de tu cuenta (en otras computadoras o "
        "pestañas) se cerraron; aquí sigues dentro.")


def _page(request: Request, status: int = 200, **context: object) -> Response:
    return render("password.html", request, status, min_password=auth.MIN_PASSWORD_LENGTH, **context)


@router.get("/account/password", include_in_schema=False)
def password_page(request: Request, ctx: StaffCtx) -> Response:
    return _page(request, notice=DONE if request.query_params.get("m") == "ok" else None)


@router.post("/account/password", include_in_schema=False)
async def password_submit(request: Request, ctx: StaffCtx) -> Response:
    """Current password, then the new one twice; no password is ever logged, audited or sent back."""
    form = await posted(request, ctx)
    ip = request.client.host if request.client else "?"

    def work() -> auth.OwnPasswordResult:
        with ctx.services.session() as session:
            result = auth.change_own_password(
                session=session, staff_id=ctx.staff.id, current=field(form, "current", 1024),  # type: ignore[arg-type]
                new=field(form, "new", 1024), repeated=field(form, "repeat", 1024), ip=ip, now=ctx.services.now())
            if result.token:
                audit(session, staff=ctx.staff, action=Action.OWN_PASSWORD, now=ctx.services.now())
            return result

    result = await run_in_threadpool(work)
    if result.token is None:
        if result.wait_seconds:
            seconds = result.wait_seconds
            wait = auth.wait_label(seconds)
            response = _page(request, 429, error=f"Demasiados intentos con una contraseña actual incorrecta. "
                                                 f"Espera {wait} antes de volver a intentar.")
            response.headers["Retry-After"] = str(seconds)
            return response
        return _page(request, 400, error=result.error)
    redirect = RedirectResponse(f"{PREFIX}/account/password?m=ok", status_code=303)
    set_session_cookie(redirect, ctx.services, result.token)
    return redirect
