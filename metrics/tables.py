"""A dashboard table: what the page shows and what the CSV export streams are the same rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, pct, hours, duration, money, decimal, date, datetime, rag
    help: str = ""


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    definition: str = ""
    empty: str = "Nothing in this period."
    display_limit: int | None = None  # the page shows the first rows; the CSV always has all of them

    @property
    def shown_rows(self) -> list[dict]:
        return self.rows[: self.display_limit] if self.display_limit else self.rows

    @property
    def hidden_count(self) -> int:
        return max(0, len(self.rows) - len(self.shown_rows))

    def csv_rows(self) -> Iterator[list[str]]:
        yield [c.label for c in self.columns]
        for row in self.rows:
            yield [csv_cell(row.get(c.key)) for c in self.columns]


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, (date, Decimal, int, float)):
        return str(value)
    text = str(value)
    # Spreadsheets run cells that start with these as formulas: neutralise them (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class Echo:
    """A file-like object whose write returns the line, for csv.writer inside a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_stream(table: Table) -> Iterator[str]:
    writer = csv.writer(Echo())
    for row in table.csv_rows():
        yield writer.writerow(row)
