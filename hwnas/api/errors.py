"""The base of every error caused by user input; the CLI prints these as one line, no traceback."""


class UserError(Exception):
    """Bad input from the user (config, file, name, shape); the message says what and how to fix it."""
