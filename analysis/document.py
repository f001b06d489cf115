"""The whole report as one self-contained HTML file: headlines, charts as inline SVG and the
tables, with no script and no external resource, so it can be mailed or attached to a paper.

Made by the run's task after its rows are stored (`report_document_store`); the charts are
rendered server-side by vl-convert (Vega and Vega-Lite compiled into the package, offline).
"""

import time
from pathlib import Path

import vl_convert
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from analysis.models import AgreementRun, ReportDocument
from analysis.presentation import report_view

DOCUMENT_NAME = "report.html"
VEGA_LITE_VERSION = "6.4"  # the schema Altair 6.3 writes (see judgeapp/static/vendor/vega)
CSS_FILES = (
    Path(settings.BASE_DIR) / "judgeapp" / "static" / "judgeapp" / "site.css",
    Path(__file__).resolve().parent / "static" / "analysis" / "report.css",
)


def chart_svg(spec: dict) -> str:
    """A Vega-Lite spec as an SVG document (fonts as text, no external resource), without
    the marks' drill-down links: they point into the app, which a mailed file cannot reach
    (and the renderer would prefix them with its own base URL)."""
    return vl_convert.vegalite_to_svg(without_links(spec), vl_version=VEGA_LITE_VERSION)


def without_links(spec: object) -> object:
    """`spec` with every ``href`` encoding channel removed (a copy)."""
    if isinstance(spec, list):
        return [without_links(value) for value in spec]
    if not isinstance(spec, dict):
        return spec
    out = {key: without_links(value) for key, value in spec.items()}
    if isinstance(out.get("encoding"), dict):
        out["encoding"] = {k: v for k, v in out["encoding"].items() if k != "href"}
    return out


def report_document_html(run: AgreementRun) -> str:
    """The report file's HTML (see the module docstring)."""
    view = report_view(run, max_shortfall=1000)
    charts = [
        type(item)(**{**item.__dict__, "svg": _without_xml_declaration(chart_svg(item.spec))})
        for item in view.charts
    ]
    view = type(view)(**{**view.__dict__, "charts": charts})
    css = "\n".join(path.read_text(encoding="utf-8") for path in CSS_FILES)
    context = {
        "run": run,
        "view": view,
        "inline_svg": True,
        "css": css,
        "generated_at": timezone.now(),
    }
    return render_to_string("analysis/report_document.html", context)


def _without_xml_declaration(svg: str) -> str:
    return svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg


def report_document_store(*, run: AgreementRun) -> float:
    """Make and store the run's HTML file (a rerun overwrites it); returns the seconds taken."""
    started = time.perf_counter()
    html = report_document_html(run)
    seconds = round(time.perf_counter() - started, 3)
    ReportDocument.objects.update_or_create(run=run, defaults={"html": html, "render_s": seconds})
    return seconds
