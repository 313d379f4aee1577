"""The FastAPI service: ``create_app(settings)`` in :mod:`bot.web.app`."""
