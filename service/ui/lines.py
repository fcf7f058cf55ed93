"""Pages for lines (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from service.ui.common import PageRoute

router = APIRouter(prefix="/ui/lines", include_in_schema=False, route_class=PageRoute)
