"""Tables and lines for the command line: rich when it is installed, plain text otherwise.

The CLI must work after a plain ``pip install .``, where rich (the ``cli`` extra) is
absent; every command then prints the same tables as aligned plain text.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from dataclasses import dataclass, field
from typing import IO, Any

from ..exceptions import MissingDependency, TikTokAdapterError

WIDTH = 80  # the title of a plain table wraps here


def rich_installed() -> bool:
    """Whether rich can be imported (an import that is blocked or missing counts as absent)."""
    try:
        importlib.import_module("rich")
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Column:
    name: str
    right: bool = False


@dataclass
class TextTable:
    """Rows of text cells under named columns; rendered by :class:`Output`."""

    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(cells))

    def add_section(self) -> None:
        self.rows.append(())  # no cells: a rule between sections

    def widths(self) -> list[int]:
        body = [row for row in self.rows if row]
        return [
            max([len(c.name), *(len(row[i]) for row in body)]) for i, c in enumerate(self.columns)
        ]

    def plain(self) -> str:
        """Aligned plain text, two spaces between columns, a dashed rule under the header."""
        widths = self.widths()
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

        def line(cells: tuple[str, ...]) -> str:
            parts = (
                cell.rjust(w) if column.right else cell.ljust(w)
                for cell, w, column in zip(cells, widths, self.columns, strict=True)
            )
            return "  ".join(parts).rstrip()

        lines = textwrap.wrap(self.title, WIDTH, break_long_words=False) if self.title else []
        lines += [line(tuple(c.name for c in self.columns)), rule]
        lines += [line(row) if row else rule for row in self.rows]
        return "\n".join(lines)

    def to_rich(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title or None, title_justify="left")
        for column in self.columns:
            table.add_column(column.name, justify="right" if column.right else "left")
        for row in self.rows:
            if row:
                table.add_row(*row)
            else:
                table.add_section()
        return table


class CommandError(TikTokAdapterError):
    """A command cannot do its job; the command line prints the message as one line."""


class UsageError(CommandError):
    """A value given on the command line cannot be used (exit 2), found after parsing:
    printed as argparse prints its own, ``PROG COMMAND: error: argument --x: ...``."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"argument {option}: {message}")
        self.option = option


class MissingExtra(CommandError, MissingDependency):
    """An optional dependency a command needs is absent; the message names the extra."""


class Output:
    """Where a command writes: a rich Console when rich is installed, else the plain stream."""

    def __init__(self, stream: IO[str] | None = None, *, use_rich: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.rich = rich_installed() if use_rich is None else use_rich
        self.console: Any = None
        if self.rich:
            from rich.console import Console

            # markup and highlighting off: an error message with [brackets] prints as it is.
            self.console = Console(file=self.stream, markup=False, highlight=False)

    def table(self, table: TextTable) -> None:
        # rich would cut a cell short ("/research/video/comment/lis…") to fit a narrow
        # terminal or a pipe (80 columns); the plain table never cuts a cell.
        boxed = sum(table.widths()) + 3 * len(table.columns) + 1
        if self.console is not None and boxed <= self.console.width:
            self.console.print(table.to_rich())
        else:
            self.stream.write(table.plain() + "\n")
            self.stream.flush()

    def line(self, text: str, style: str | None = None) -> None:
        if self.console is not None:
            self.console.print(text, style=style, soft_wrap=True)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    @property
    def is_terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())
