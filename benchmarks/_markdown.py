"""Markdown tables and notes for the benchmark reports."""

from __future__ import annotations

from typing import Any


def table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return [*lines, ""]


def notes(section: dict[str, Any]) -> list[str]:
    return [f"- {n}" for n in section.get("notes", [])] + ([""] if section.get("notes") else [])
