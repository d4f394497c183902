"""The dashboard's trend chart: on-time % month by month, one line per team, as an SVG rendered server-side by
pygal. `js=[]` keeps pygal from pointing the page at its tooltip script on a CDN: the chart needs no script."""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from pygal.style import Style

from connector.reports.figures import Figures

STYLE = Style(
    background="white",
    plot_background="white",
    font_family="system-ui, sans-serif",
    colors=("#1f5f99", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0f766e", "#a16207", "#be185d"),
)


def trend_svg(figures: Figures, teams: Sequence[str], target: float, floor: float) -> str:
    months = figures.month_range()
    chart = pygal.Line(
        js=[],
        style=STYLE,
        width=900,
        height=320,
        range=(0, 100),
        show_dots=True,
        dots_size=4,
        x_label_rotation=30,
        legend_at_bottom=True,
        truncate_legend=-1,
        title="On time, month by month (% of cycles due that month)",
        y_title="% on time",
        allow_interruptions=True,
    )
    chart.x_labels = months
    for team in teams:
        values = []
        for month in months:
            tally = figures.team_months.get((team, month))
            values.append(None if tally is None else tally.on_time_percent)
        chart.add(f"team {team}", values)
    chart.add("target", [target] * len(months), show_dots=False, stroke_style={"dasharray": "6, 4"})
    chart.add("floor", [floor] * len(months), show_dots=False, stroke_style={"dasharray": "2, 4"})
    return str(chart.render(is_unicode=True, disable_xml_declaration=True))
