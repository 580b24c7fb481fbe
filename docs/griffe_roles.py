"""A Griffe extension for the API reference: Sphinx roles in docstrings become code spans.

The package's docstrings write ``:class:`Settings```, ``:func:`mount``` and the like, as
Sphinx would read them. Markdown has no roles, so mkdocstrings would show the role's name
as text; this rewrites each ``:role:`target``` to ```target``` (a leading ``~`` dropped)
before the docstring is rendered.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const|ref):`~?([^`]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring as Griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value)
