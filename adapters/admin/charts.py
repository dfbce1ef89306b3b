"""The dashboard's charts: pygal, drawn on the server as SVG, each with its table.

pygal (a well-kept Python SVG chart library) draws a chart into one SVG
document with nothing to load: `js=[]` leaves out the tooltip script it
would otherwise fetch from a CDN, so a deployment with no outside network
shows the same page. The SVG goes into the page as an `<img>` with a
`data:` address (the page's Content-Security-Policy allows images from
`data:` and nothing inline), and every chart comes with the same figures
as a table, for screen readers and for anyone who wants the numbers.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import pygal
from pygal.style import Style

from bot.dashboard import CapabilityChange, Funnel, SessionTrend

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1d1d1f",
    foreground_strong="#1d1d1f",
    foreground_subtle="#6e6e73",
    colors=("#2463eb", "#0f9d58", "#e37400", "#8e44ad"),
    font_family="system-ui, sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=15,
    value_font_size=15,
)


@dataclass(frozen=True)
class Chart:
    """A chart as an image address (None: nothing to draw yet), its description, and the
    same figures as a table. The page's heading names it: the image has no title."""

    title: str
    image: str | None  # data:image/svg+xml;base64,...
    summary: str  # the image's alt text
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _options(**changes: object) -> dict[str, object]:
    return {
        "js": [],  # no tooltip script from a CDN: the chart is a picture
        "style": STYLE,
        "width": 600,
        "height": 320,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "truncate_legend": -1,
        "truncate_label": -1,
        "disable_xml_declaration": True,
        "print_values": False,
        "margin": 16,
    } | changes


def _image(chart: pygal.graph.graph.Graph) -> str:
    svg: str = chart.render(is_unicode=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)} %"


def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def funnel_chart(funnel: Funnel) -> Chart:
    steps = (
        ("Invited", funnel.invited),
        ("Intake done", funnel.intake_done),
        ("Matched", funnel.matched),
        ("Active", funnel.active),
    )
    chart = pygal.HorizontalBar(**_options(show_legend=False, print_values=True))
    chart.x_labels = [label for label, _ in reversed(steps)]
    chart.add("People", [n for _, n in reversed(steps)])
    return Chart(
        title="Enrolment",
        image=_image(chart),
        summary="Enrolment: " + ", ".join(f"{label} {n}" for label, n in steps),
        columns=("Step", "People"),
        rows=tuple((label, str(n)) for label, n in steps),
    )


def trends_chart(trends: Sequence[SessionTrend], *, title: str) -> Chart:
    """Participation and commitments done in per cent; the pulse (1–5) as a fifth of 100."""
    chart = pygal.Line(**_options(range=(0, 100), dots_size=4))
    chart.x_labels = [str(t.number) for t in trends]
    chart.x_title = "Session"
    chart.y_title = "%"
    chart.add("Participation", [_pct(t.participation) for t in trends])
    chart.add("Commitments done", [_pct(t.commitments_done) for t in trends])
    chart.add("Pulse (of 5)", [_pct(t.pulse / 5 if t.pulse else None) for t in trends])
    rows = tuple(
        (
            str(t.number),
            percent(t.participation),
            percent(t.commitments_done),
            score(t.pulse) if t.pulse is not None else _too_few(t.pulse_answers),
        )
        for t in trends
    )
    return Chart(
        title=title,
        image=_image(chart),
        summary=f"{title}: participation, commitments done and pulse for {len(trends)} sessions",
        columns=("Session", "Participation", "Commitments done", "Pulse (1–5)"),
        rows=rows,
    )


def capability_chart(changes: Sequence[CapabilityChange]) -> Chart:
    """Nothing is drawn before any area has answers enough at both ends: only the table."""
    chart = pygal.Bar(**_options(range=(0, 5)))
    chart.y_title = "self-rated 1–5"
    chart.x_labels = [c.area for c in changes]
    chart.add("Start", [c.start for c in changes])
    chart.add("End", [c.end for c in changes])
    rows = tuple(
        (
            c.area,
            score(c.start) if c.start is not None else _too_few(c.answers),
            score(c.end) if c.end is not None else _too_few(c.answers),
            "—" if c.start is None or c.end is None else f"{c.end - c.start:+.1f}",
        )
        for c in changes
    )
    drawn = any(c.start is not None and c.end is not None for c in changes)
    return Chart(
        title="Capability, start → end",
        image=_image(chart) if drawn else None,
        summary="Capability self-ratings at the start and the end, per area",
        columns=("Area", "Start", "End", "Change"),
        rows=rows,
    )


def _too_few(answers: int) -> str:
    return f"too few answers ({answers})"
