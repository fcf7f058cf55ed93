"""Reports over cycles: the imbalance report of DESIGN §6a, as JSON or as its CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from clearing.entrypoints import bootstrap
from clearing.use_cases import reports
from clearing.use_cases.validation import MAX_CYCLE_NUMBER
from service.dependencies import CurrentPrincipal, StrictQuery, Uow
from service.schemas import ERROR_RESPONSES
from service.strict_requests import StrictRoute

router = APIRouter(
    tags=["reports"], responses=ERROR_RESPONSES, route_class=StrictRoute, dependencies=[StrictQuery]
)

CycleNumber = Annotated[int | None, Query(ge=1, le=MAX_CYCLE_NUMBER)]


class CorridorFiguresOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    submitted: str
    settled: str
    carried: str
    line_drawn: str
    line_repaid: str


class LineMovementOut(BaseModel):
    id: str
    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    currency: str
    drawn: str
    repaid: str
    balance: str


class CycleImbalanceOut(BaseModel):
    cycle_id: str
    number: int
    status: str
    base: str
    corridors: list[CorridorFiguresOut]
    lines: list[LineMovementOut]


class CorridorAgeingOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    buckets: dict[str, str]
    overdue: str


class ImbalanceReportOut(BaseModel):
    as_of: str
    cycles: list[CycleImbalanceOut]
    ageing_base: str | None
    ageing: list[CorridorAgeingOut]
    unvalued_currencies: list[str]


@router.get(
    "/v1/reports/imbalance",
    response_model=ImbalanceReportOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def imbalance(
    principal: CurrentPrincipal,
    uow: Uow,
    from_cycle: CycleNumber = None,
    to_cycle: CycleNumber = None,
    report_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Per cycle and corridor: submitted, settled, carried, line drawn and repaid (base
    currency), each cycle's lines; per corridor, the value still carried by age (days since
    first eligible: 0-30, 31-60, 61-90, 90+) and the overdue value. ``format=csv`` gives one row
    per cycle and corridor."""
    report = reports.imbalance(uow, principal, from_cycle, to_cycle)
    if report_format == "csv":
        return Response(
            bootstrap.imbalance_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="imbalance.csv"'},
        )
    document: dict[str, Any] = bootstrap.imbalance_document(report)
    return JSONResponse(document)
