"""The imbalance report's page and its CSV download."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from clearing.domain.imbalance import AGE_BUCKETS
from clearing.entrypoints import bootstrap
from clearing.use_cases import reports
from service.ui.charts import BAR_WIDTH, LEFT, SERIES, imbalance_charts
from service.ui.common import PageRoute, SignedIn

router = APIRouter(prefix="/ui/reports", include_in_schema=False, route_class=PageRoute)


@router.get("/imbalance", response_class=HTMLResponse)
def imbalance_page(viewer: SignedIn) -> Response:
    report = reports.imbalance(viewer.uow(), viewer.principal)
    return viewer.page(
        "imbalance.html",
        report=report,
        charts=imbalance_charts(report, viewer.formats),
        series=SERIES,
        series_names=dict(SERIES),
        bucket_labels=[label for label, _, _ in AGE_BUCKETS],
        left=LEFT,
        bar_width=BAR_WIDTH,
    )


@router.get("/imbalance.csv")
def imbalance_csv(viewer: SignedIn) -> Response:
    report = reports.imbalance(viewer.uow(), viewer.principal)
    return Response(
        bootstrap.imbalance_csv(report),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="imbalance.csv"'},
    )
