"""The pages of traders, operators and auditors: server-rendered HTML in English, Chinese or
Russian, every asset shipped in the package.

Signing in stores the API key in an HttpOnly, SameSite=Strict cookie scoped to ``/ui``; each
page and action authenticates with it exactly as the API does with the bearer header, and runs
the same use cases. One module per area, as in ``service/routes``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.ui import bank, cycles, invoices, ledger, lines, reports, session, statements
from service.ui.common import HERE


def install(app: FastAPI) -> None:
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    for area in (session, invoices, cycles, statements, bank, lines, reports, ledger):
        app.include_router(area.router)
    app.include_router(session.fallback)
