"""The staff console: one router, mounted by the app with ``app.include_router(console_router())``.

Everything lives under ``/console``; the services come from
``request.app.state.services``. Only the login page and the static CSS/JS
are reachable without a session; every other path answers with the login
page (pages) or 401 (API, media, exports, any POST).
"""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from bot import staff_models  # noqa: F401  (registers the console's tables on SQLModel.metadata)

STATIC = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


def console_router() -> APIRouter:
    """All console routes (pages, API, media, static) under ``/console``."""
    from bot.console import routes_account, routes_admin, routes_tickets
    from bot.console.web import PREFIX, ConsoleRoute, StaffCtx, error_response

    router = APIRouter(route_class=ConsoleRoute)
    router.include_router(routes_tickets.router)
    router.include_router(routes_admin.router)
    router.include_router(routes_account.router)

    @router.get(PREFIX + "/static/{name}", include_in_schema=False)
    def static(request: Request, name: str) -> Response:
        """The console's own CSS and JS (public: they hold no data)."""
        files = {p.name: p for p in STATIC.iterdir() if p.is_file()}
        path = files.get(name)
        if path is None or path.suffix not in _STATIC_TYPES:
            return error_response(request, 404, "No existe.")
        response = FileResponse(path, media_type=_STATIC_TYPES[path.suffix])
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @router.api_route(PREFIX + "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                      include_in_schema=False)
    def unknown(request: Request, rest: str, ctx: StaffCtx) -> Response:
        """Any other console path: the login page for strangers, 404 for staff (no map of what exists)."""
        return error_response(request, 404, "Esta página no existe.")

    return router


__all__ = ["console_router"]
