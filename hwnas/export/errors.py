"""Errors of the export package; each is a one-line ``UserError`` the CLI prints without a traceback."""

from hwnas.api.errors import UserError


class ExportError(UserError):
    """An export cannot be made (wrong space for the format, missing optional dependency, failed check)."""


class ModelFileError(UserError):
    """A model file is missing, is not an hwnas model file, or has a format this version cannot read."""
