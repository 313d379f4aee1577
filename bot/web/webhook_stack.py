"""The webhooks' own, shorter way through the app: the same guards, without the rest of the stack.

Every student message arrives as a POST to a webhook. FastAPI sends every
request through its whole middleware stack and then its router: its
telemetry middleware (which looks up OpenTelemetry's tracer provider and
reads the environment on every request, configured or not), its body-size
middleware, its exit-stack middleware, and a walk over the routes. None of
that does anything for a webhook, which reads and verifies its own body
(:class:`bot.channels.base.WebhookRoute`), yet it was about a quarter of
the webhook path's CPU, in the process that also answers the students.
FastAPI's own ``__call__`` adds a check, on every request, of whether
OpenTelemetry is configured to trace it; nothing is configured here, and a
webhook skips that check too (so FastAPI's native tracing, if an operator
turned it on, would not see the webhooks).

:class:`WebhookApp` builds, for each webhook route, the part of the stack
that does matter, from the app's own configuration so that the two cannot
drift apart: Starlette's ``ServerErrorMiddleware`` with the app's handler
for unexpected errors (the generic 500, counted in
``app.state.unhandled_errors``), the app's own middleware (the request
guard: size, content type, body timeout, the security headers), and
Starlette's ``ExceptionMiddleware`` with the app's handlers (an
``HTTPException`` is the API's ``{"detail": ...}``). A POST to a webhook's
exact path takes that way; everything else, other methods on the same
paths included (405), takes the full stack as before.

Measured, the webhook path alone (retries of one stored MessageSid on
SQLite, back to back): README, "Performance".
"""
from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.channels.base import WebhookRoute
from bot.web.middleware import logged_here


class WebhookApp(FastAPI):
    """A FastAPI app whose webhook routes skip the parts of the stack that do nothing for them."""

    #: The webhooks' paths, once the stack is built (at the first request).
    _webhook_paths: frozenset[str] = frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            # FastAPI's own call first asks OpenTelemetry, on every request, whether anything is
            # configured to trace it (nothing is here); a webhook goes straight to the stack.
            if (scope["type"] == "http" and scope.get("method") == "POST" and not self.root_path
                    and scope["path"] in self._webhook_paths):
                await Starlette.__call__(self, scope, receive, send)
                return
            await super().__call__(scope, receive, send)
        except Exception as exc:
            # Logged with its request and answered 500 by the app's catch-all handler; raised
            # again by Starlette only for the server, which would log the same traceback again.
            if not logged_here(scope, exc):
                raise

    def build_middleware_stack(self) -> ASGIApp:
        webhooks = self._webhook_stacks()
        self._webhook_paths = frozenset(webhooks)
        return _WebhooksFirst(webhooks, super().build_middleware_stack())

    def _webhook_stacks(self) -> dict[str, ASGIApp]:
        error_handler = None
        handlers: dict[Any, Any] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        stacks: dict[str, ASGIApp] = {}
        for route in self.router.routes:
            if not isinstance(route, WebhookRoute) or route.path in stacks:
                continue
            app: ASGIApp = _Endpoint(route, self.router)
            app = ExceptionMiddleware(app, handlers=handlers, debug=self.debug)
            for cls, args, kwargs in reversed(self.user_middleware):
                app = cls(app, *args, **kwargs)
            stacks[route.path] = ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)
        return stacks


class _Endpoint:
    """What the router and the route put in the scope before calling the route's endpoint."""

    def __init__(self, route: WebhookRoute, router: Any) -> None:
        self.route = route
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["router"] = self.router
        scope["endpoint"] = self.route.endpoint
        scope["route"] = self.route
        scope.setdefault("path_params", {})
        await self.route.app(scope, receive, send)


class _WebhooksFirst:
    """Sends a POST to a webhook's path down its own stack, everything else down the app's."""

    def __init__(self, webhooks: dict[str, ASGIApp], full: ASGIApp) -> None:
        self.webhooks = webhooks
        self.full = full

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and not scope.get("root_path"):
            stack = self.webhooks.get(scope["path"])
            if stack is not None:
                await stack(scope, receive, send)
                return
        await self.full(scope, receive, send)
