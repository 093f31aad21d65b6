"""The report's HTML: one self-contained page (inline CSS and SVG; no script, font or link).

Pure text building. Every value shown is escaped here, so data (symbols, file names, rule
messages) can never break the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

CSS = """
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #222; max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
p.meta { color: #666; margin-top: 0; }
p.explain { background: #f4f6f8; border-left: 4px solid #1f77b4; padding: 0.5em 0.8em; }
p.absent { color: #8a4b00; background: #fff6e5; border-left: 4px solid #e69500;
           padding: 0.5em 0.8em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.25em 0.7em; text-align: left; }
th { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.when { white-space: nowrap; }
table.compact { font-size: 0.8em; }
table.compact th, table.compact td { padding: 0.2em 0.35em; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
nav ol { columns: 2; }
code { background: #f0f0f0; padding: 0 0.2em; }
"""


@dataclass(frozen=True)
class Section:
    """One section: a title, one sentence on what it shows and how to read it, then the body."""

    anchor: str
    title: str
    explanation: str
    body: str


def fmt(value: Any, *, digits: int = 4) -> str:
    """A value as a person reads it: 12,345 · 0.01234 · 2024-01-31 · — for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        text = "—"
    elif isinstance(value, Percent):
        text = f"{value * 100:.2f}%"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        whole = value.is_integer() and abs(value) < 1e15
        text = f"{value:,.0f}" if whole else f"{value:.{digits}g}"
    elif isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M UTC")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return text


def fmt_pvalue(value: float | None) -> str:
    """A p-value: three decimals, or '<0.001'."""
    if value is None or math.isnan(value):
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def table(headers: list[str], rows: list[list[Any]], *, compact: bool = False) -> str:
    """An HTML table; numbers are right-aligned and formatted with :func:`fmt`.

    Args:
        headers: Column titles.
        rows: Cell values (:class:`Raw` text is put in as it is).
        compact: Smaller type and padding, for tables with many columns.

    Returns:
        The ``<table>`` element.
    """
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = value if isinstance(value, Raw) else escape(fmt(value))
            if numeric:
                cells.append(f'<td class="num">{text}</td>')
            elif isinstance(value, date | When):  # dates never break across lines
                cells.append(f'<td class="when">{text}</td>')
            else:
                cells.append(f"<td>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    opening = '<table class="compact">' if compact else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Percent(float):
    """A fraction shown as a percentage (0.0123: 1.23%), right-aligned like any number."""

    __slots__ = ()


class When(str):
    """A time already formatted (``2024-01-02 14:30 UTC``): kept on one line like a date."""

    __slots__ = ()


class Raw(str):
    """Text already escaped (or built here): put into a table cell as it is."""

    __slots__ = ()


def paragraph(text: str) -> str:
    """A plain paragraph."""
    return f"<p>{escape(text)}</p>"


def absent(text: str) -> str:
    """A plain statement that something is not there yet, and what to run to get it."""
    return f'<p class="absent">{escape(text)}</p>'


def heading(text: str) -> str:
    """A sub-heading inside a section."""
    return f"<h3>{escape(text)}</h3>"


def figure(svg: str, caption: str) -> str:
    """An inline SVG figure with a caption saying how to read it."""
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def render_page(*, title: str, meta: list[str], intro: str, sections: list[Section]) -> str:
    """The whole page: title, meta lines, table of contents, then each section.

    Args:
        title: The page title.
        meta: Lines under the title (when, from where).
        intro: One paragraph on what the report is.
        sections: The sections, in order.

    Returns:
        The HTML document.
    """
    toc = "".join(f'<li><a href="#{s.anchor}">{escape(s.title)}</a></li>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        *(f'<p class="meta">{escape(line)}</p>' for line in meta),
        paragraph(intro),
        f"<nav><ol>{toc}</ol></nav>",
    ]
    for section in sections:
        parts += [
            f'<section id="{escape(section.anchor)}">',
            f"<h2>{escape(section.title)}</h2>",
            f'<p class="explain">{escape(section.explanation)}</p>',
            section.body,
            "</section>",
        ]
    parts.append("</body></html>\n")
    return "\n".join(parts)
