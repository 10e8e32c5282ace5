"""Docstrings as ``--help`` text: reStructuredText markup is for the API docs, not for a terminal."""

from __future__ import annotations

import re

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`]+)`")  # :func:`x`, :py:class:`~a.B`
_LITERAL = re.compile(r"``([^`]+)``")
_LINK = re.compile(r"`([^`<]+?)\s*<([^>]+)>`_+")


def plain_text(doc: str | None) -> str:
    """``doc`` without RST literals, roles and links, for argparse ``description=``/``help=``.

    Example:
        >>> plain_text("``fit`` adapts it; see :func:`~hwnas.api.freeze` and `SCALE-Sim <https://x.y>`_.")
        'fit adapts it; see freeze and SCALE-Sim (https://x.y).'
    """
    text = _LINK.sub(r"\1 (\2)", doc or "")
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if m.group(0).count("~") else m.group(1), text)
    return _LITERAL.sub(r"\1", text)
