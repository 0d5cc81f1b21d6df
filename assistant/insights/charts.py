"""Inline SVG charts for the insights page: horizontal bars, vertical bars, a day line.

Plain SVG, no script and no ``style`` attribute (the page runs under a Content Security
Policy without ``unsafe-inline``): colours come from classes in ``web/static/insights.css``
and from presentation attributes. Each chart is ``role="img"`` with a ``<title>`` and a
``<desc>``; the table beside it holds the same numbers for screen readers and for copying.

A suppressed cell has no height to draw: it is drawn as a dashed outline spanning 0 to the
threshold (the whole range it may lie in) and labelled "fewer than 5".
"""

from html import escape
from typing import List, Sequence, Tuple

from assistant.insights.privacy import SMALL_NUMBER, Count

Bar = Tuple[str, Count]


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: List[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _scale(cells: Sequence[Count]) -> int:
    return max([c.value or 0 for c in cells] + [SMALL_NUMBER, 1])


def horizontal_bars(chart_id: str, title: str, bars: Sequence[Bar], label_width: int = 260) -> str:
    """One row per item, longest first as given: topics, flags, tiers, outcomes."""
    row, width = 26, 720
    top = max(_scale([c for _, c in bars]), 1)
    room = width - label_width - 110
    body: List[str] = []
    for i, (label, cell) in enumerate(bars):
        y = i * row + 4
        body.append(
            f'<text class="label" x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(label[:42])}</text>'
        )
        if cell.suppressed:
            w = max(2, round(room * SMALL_NUMBER / top))
            body.append(f'<rect class="bar suppressed" x="{label_width}" y="{y}" width="{w}" height="18" rx="2"/>')
        else:
            w = round(room * (cell.value or 0) / top)
            body.append(f'<rect class="bar" x="{label_width}" y="{y}" width="{max(w, 1)}" height="18" rx="2"/>')
        body.append(f'<text class="value" x="{label_width + w + 6}" y="{y + 15}">{escape(str(cell))}</text>')
    height = max(len(bars) * row + 8, 30)
    if not bars:
        body.append('<text class="label" x="8" y="20">Nothing in this period</text>')
    desc = "; ".join(f"{label}: {cell}" for label, cell in bars) or "nothing in this period"
    return _svg(chart_id, width, height, title, desc, body)


def vertical_bars(chart_id: str, title: str, bars: Sequence[Bar]) -> str:
    """Columns left to right: the hours of the day, the days of the week."""
    width, height, base, left = 720, 220, 180, 64
    top = _scale([c for _, c in bars])
    step = (width - left - 10) / max(len(bars), 1)
    body = [
        f'<line class="axis" x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}"/>',
        f'<text class="value" x="{left - 6}" y="24" text-anchor="end">{top:,}</text>',
        f'<text class="value" x="{left - 6}" y="{base}" text-anchor="end">0</text>',
    ]
    for i, (label, cell) in enumerate(bars):
        x = left + i * step + step * 0.15
        w = step * 0.7
        value = SMALL_NUMBER if cell.suppressed else (cell.value or 0)
        h = (base - 20) * value / top
        css = "bar suppressed" if cell.suppressed else "bar"
        body.append(f'<rect class="{css}" x="{x:.1f}" y="{base - h:.1f}" width="{w:.1f}" height="{max(h, 0.5):.1f}"/>')
        body.append(
            f'<text class="tick" x="{x + w / 2:.1f}" y="{base + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    desc = "; ".join(f"{label}: {cell}" for label, cell in bars)
    return _svg(chart_id, width, height, title, desc, body)


def day_line(chart_id: str, title: str, points: Sequence[Bar]) -> str:
    """A small line of a count per day. Suppressed days sit in the shaded band 0 to 5 as
    open circles, and the line breaks there."""
    width, height, base, left = 720, 200, 160, 64
    top = _scale([c for _, c in points])
    step = (width - left - 20) / max(len(points) - 1, 1)
    band = (base - 20) * SMALL_NUMBER / top
    body = [
        f'<rect class="band" x="{left}" y="{base - band:.1f}" width="{width - left - 20}" height="{band:.1f}"/>',
        f'<line class="axis" x1="{left}" y1="{base}" x2="{width - 20}" y2="{base}"/>',
        f'<text class="value" x="{left - 6}" y="24" text-anchor="end">{top:,}</text>',
        f'<text class="value" x="{left - 6}" y="{base}" text-anchor="end">0</text>',
    ]
    segment: List[str] = []
    segments: List[List[str]] = []
    for i, (_label, cell) in enumerate(points):
        x = left + i * step
        if cell.suppressed:
            body.append(f'<circle class="dot suppressed" cx="{x:.1f}" cy="{base - band / 2:.1f}" r="3"/>')
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = base - (base - 20) * (cell.value or 0) / top
        segment.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>')
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            body.append(f'<polyline class="line" fill="none" points="{" ".join(seg)}"/>')
    for i in sorted({0, len(points) // 2, len(points) - 1}) if points else []:
        x = left + i * step
        body.append(
            f'<text class="tick" x="{x:.1f}" y="{base + 18}" text-anchor="middle">{escape(points[i][0])}</text>'
        )
    shown = [c.value for _, c in points if c.value is not None]
    desc = (
        f"{len(points)} days; highest {max(shown):,}; {sum(1 for _, c in points if c.suppressed)} days with fewer than {SMALL_NUMBER}"
        if shown
        else f"every day fewer than {SMALL_NUMBER}"
    )
    return _svg(chart_id, width, height, title, desc, body)
