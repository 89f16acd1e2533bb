"""Charts drawn by the server as inline SVG: no JavaScript, no outside CDN, readable by screen readers.

`bar_chart([(date, value), ...])` returns safe markup: one bar per day (or week, or month) with a <title>
tooltip, a labelled value axis and first, middle and last dates under the bars. The <svg> has role="img"
and an aria-label that says in words what the bars show.
"""

import math

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 36  # room for the value labels and the dates
BAR_COLOUR = "#007d7e"
PERIOD_WORDS = {"day": "per day", "week": "per week", "month": "per month"}


def format_day(day, period="day"):
    """A day as the rest of the site writes it (DATE_FORMAT), a month as "November 2026"."""
    if period == "month":
        return date_format(day, "F Y")
    text = date_format(day)
    return f"Week of {text}" if period == "week" else text


def nice_ceiling(value):
    """The smallest of 1, 2, 5 × 10ⁿ at or above `value`, so the axis reads in round numbers."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # not reached


def summary(points, unit, period):
    """What the chart shows, in one sentence: range, total, busiest day."""
    if not points:
        return f"No {unit}: nothing was counted in this period."
    total = sum(value for _, value in points)
    first, last = points[0][0], points[-1][0]
    words = (f"{unit.capitalize()} {PERIOD_WORDS[period]} from {format_day(first)} to {format_day(last)}: "
             f"{total:,} in all")
    if total:
        peak_day, peak = max(points, key=lambda point: (point[1], -point[0].toordinal()))
        when = {"day": "on {}", "week": "in the week of {}", "month": "in {}"}[period]
        words += f", most ({peak:,}) " + when.format(format_day(peak_day, "month" if period == "month" else "day"))
    return words + "."


def counted(value, unit):
    """'1 reader', '2 readers'."""
    return f"{value:,} {unit[:-1] if value == 1 and unit.endswith('s') else unit}"


def bar_chart(points, unit="readers", period="day", width=WIDTH, height=HEIGHT):
    """SVG bars for `points`, a list of (date, value) in date order; `unit` names the values ("readers")."""
    points = [(day, int(value or 0)) for day, value in points]
    label = summary(points, unit, period)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    top = nice_ceiling(max((value for _, value in points), default=0))
    parts = []

    # Value axis: 0, half and top, with faint grid lines.
    for tick in (0, top // 2, top) if top % 2 == 0 else (0, top):
        y = TOP + plot_h - plot_h * tick / top
        tick_text = f"{tick:,}"
        parts.append(format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="0.2"/>'
            '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" font-size="12" fill="currentColor">'
            '{}</text>',
            LEFT, width - RIGHT, f"{y:.1f}", f"{y:.1f}", LEFT - 6, f"{y:.1f}", tick_text,
        ))
    parts.append(format_html(
        '<text x="12" y="{}" transform="rotate(-90 12 {})" text-anchor="middle" font-size="12" fill="currentColor">'
        '{}</text>',
        TOP + plot_h / 2, TOP + plot_h / 2, unit.capitalize(),
    ))

    if points:
        slot = plot_w / len(points)
        gap = min(2.0, slot * 0.2)
        bars = []
        for index, (day, value) in enumerate(points):
            bar_h = plot_h * value / top
            bars.append((
                f"{LEFT + index * slot + gap / 2:.2f}", f"{TOP + plot_h - bar_h:.2f}",
                f"{max(slot - gap, 0.5):.2f}", f"{bar_h:.2f}",
                f"{format_day(day, period)}: {counted(value, unit)}",
            ))
        parts.append(format_html_join(
            "", '<rect x="{}" y="{}" width="{}" height="{}" fill="' + BAR_COLOUR + '"><title>{}</title></rect>', bars,
        ))
        # Date axis: first, middle and last bar.
        shown = sorted({0, len(points) // 2, len(points) - 1})
        for position, index in enumerate(shown):
            anchor = "start" if position == 0 else ("end" if index == len(points) - 1 and index else "middle")
            x = LEFT + (index + 0.5) * slot if anchor == "middle" else (LEFT if anchor == "start" else width - RIGHT)
            parts.append(format_html(
                '<text x="{}" y="{}" text-anchor="{}" font-size="12" fill="currentColor">{}</text>',
                f"{x:.1f}", height - BOTTOM + 18, anchor, format_day(points[index][0], period),
            ))
    else:
        parts.append(format_html(
            '<text x="{}" y="{}" text-anchor="middle" font-size="14" fill="currentColor">No {} in this period</text>',
            LEFT + plot_w / 2, TOP + plot_h / 2, unit,
        ))
    parts.append(format_html(
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="currentColor" stroke-opacity="0.6"/>',
        LEFT, width - RIGHT, TOP + plot_h, TOP + plot_h,
    ))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="readers-chart" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{}"><title>{}</title>{}</svg>',
        width, height, label, label, mark_safe("".join(parts)),
    )
