"""Bar charts drawn as SVG on the server: no JavaScript, sharp on paper, readable by a screen
reader through their title (the table beside each chart holds the real figures).

Only presentation attributes, no `style`: the Content-Security-Policy allows no inline style.
A hidden figure ("<10") is drawn as a pale outlined bar up to the threshold, so the chart
says no more than the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from portal.stats.suppression import THRESHOLD, Figure

WIDTH = 640
HEIGHT = 220
LEFT = 48
BOTTOM = 36
TOP = 12
BAR = "#1f5fa8"
HIDDEN = "#c9d6e8"
INK = "#1a1a1a"
LABEL_CHAR_WIDTH = 5.5
"""About the width of one character of a 10-unit label: a longer label (a guide's title) is
shortened to its bar's width, the table beside the chart gives it whole."""


def _nice_ceiling(value: int) -> int:
    """The axis's top: 1, 2, 3, 4, 5, 6 or 8 times a power of ten, at or above `value`."""
    step = 1
    while True:
        for factor in (1, 2, 3, 4, 5, 6, 8):
            if step * factor >= value:
                return step * factor
        step *= 10


def _fitted(label: str, width: float) -> str:
    """`label`, shortened with "…" to about `width` units of 10-unit text."""
    room = max(2, int(width / LABEL_CHAR_WIDTH))
    return label if len(label) <= room else label[: room - 1].rstrip() + "…"


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, Figure]]) -> Markup:
    """An SVG bar chart of `bars` (label, figure), titled for assistive technology."""
    top = _nice_ceiling(max([THRESHOLD, *(figure or 0 for _, figure in bars)]))
    plot_width = WIDTH - LEFT - 8
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(bars))
    # Label every bar when they fit, else about twelve of them.
    every = max(1, round(len(bars) / 12))
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{chart_id}-title" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_height * (1 - fraction)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#767676" stroke-width="0.5"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{INK}">{int(top * fraction)}</text>'
        )
    for index, (label, figure) in enumerate(bars):
        value = THRESHOLD if figure is None else figure
        height = plot_height * value / top
        x = LEFT + index * slot + slot * 0.15
        y = TOP + plot_height - height
        if figure is None:
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{HIDDEN}" stroke="{BAR}" stroke-width="0.5" stroke-dasharray="2 2"/>'
            )
        else:
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{BAR}"/>'
            )
        if index % every == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 14}" '
                f'text-anchor="middle" font-size="10" fill="{INK}">'
                f"{escape(_fitted(label, slot * every * 0.95))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — every text above is escaped or a number
