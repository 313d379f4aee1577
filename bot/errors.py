"""The bot layer's own exceptions; the CLI and the web app turn them into exit codes and statuses."""
from __future__ import annotations


class SeguroBotError(Exception):
    """Base of every error this package raises on purpose."""


class NotFound(SeguroBotError):
    """A row that the caller named by id does not exist."""


class InvalidInput(SeguroBotError):
    """A caller handed the core something it cannot process (e.g. a naive timestamp)."""


class SchemaOutdated(SeguroBotError):
    """The database was created by an older version and lacks columns this code needs."""
