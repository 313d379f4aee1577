"""FastAPI dependencies shared by the channels' routes and the app's own."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bot.web.services import Services


def get_services(request: Request) -> Services:
    """The running service's :class:`Services` (set by ``create_app``)."""
    services: Services = request.app.state.services
    return services


#: Use as a parameter type in a route: ``def hook(services: ServicesDep): ...``.
ServicesDep = Annotated[Services, Depends(get_services)]
