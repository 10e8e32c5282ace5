"""Every ``--help`` is plain text: no reStructuredText leaks from docstrings (covers subcommands added later)."""

from __future__ import annotations

import argparse
import re

import pytest

from hwnas.cli import build_parser
from hwnas.cli._help import plain_text

_RST = re.compile(r"``|:(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|ref|doc):`|`_\b|`__")


def _helps(parser: argparse.ArgumentParser, path: str):
    yield path, parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _helps(sub, f"{path} {name}")


HELPS = dict(_helps(build_parser(), "hwnas"))


def test_every_registered_subcommand_is_covered():
    top = {p.split()[1] for p in HELPS if len(p.split()) > 1}
    assert {"search", "select", "report", "tpe", "targets", "predictor", "profile"} <= top
    assert "hwnas predictor sweep" in HELPS


@pytest.mark.parametrize("path", sorted(HELPS))
def test_help_has_no_rst_markup(path):
    found = _RST.findall(HELPS[path])
    assert not found, f"{path} -h shows reStructuredText markup {found}: use hwnas.cli._help.plain_text"


def test_plain_text_strips_literals_roles_and_links():
    assert plain_text("``a,b`` via :func:`hwnas.freeze`, :class:`~x.Y`, `docs <https://h>`_") == (
        "a,b via hwnas.freeze, Y, docs (https://h)")
    assert _RST.search("``x``") and _RST.search(":class:`Y`") and not _RST.search(plain_text("``x`` :class:`Y`"))
