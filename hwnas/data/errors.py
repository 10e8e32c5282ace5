"""Errors raised for missing or unreadable datasets; both are UserErrors (one line, no traceback)."""

from __future__ import annotations

from hwnas.api.errors import UserError


class DatasetError(UserError):
    """A dataset exists but cannot be used (unreadable file, inconsistent classes, bad option)."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset path is unset or missing; the message names the path and how to fix it."""
