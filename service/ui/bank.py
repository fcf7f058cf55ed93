"""Pages for the bank (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from service.ui.common import PageRoute

router = APIRouter(prefix="/ui/bank", include_in_schema=False, route_class=PageRoute)
