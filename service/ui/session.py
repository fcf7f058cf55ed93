"""Signing in and out, the home page each role lands on, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearing.domain.access import Principal, Role
from clearing.use_cases import keys
from service.ui.common import (
    KEY_COOKIE,
    PageRoute,
    SignedIn,
    error_page,
    quiet_principal,
    render,
)
from service.ui.i18n import LANGUAGE_COOKIE, LANGUAGES, negotiate, translations

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)

#: Where each role lands after signing in.
HOME: dict[Role, str] = {
    Role.OPERATOR: "/ui/cycles",
    Role.TRADER: "/ui/invoices",
    Role.AUDITOR: "/ui/ledger",
}
#: A year, in seconds: the language choice outlives the session.
LANGUAGE_MAX_AGE = 365 * 24 * 3600


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(viewer: SignedIn) -> Response:
    return RedirectResponse(HOME.get(viewer.role, "/ui/login"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", negotiate(request), None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, key: Annotated[str, Form()], next: Annotated[str, Form()] = ""
) -> Response:
    principal = keys.authenticate(request.app.state.uows(), key.strip())
    if principal is None or principal.role not in HOME:
        language = negotiate(request)
        text = translations(language).gettext(
            "That key is not a trader's, an operator's or an auditor's key."
        )
        return render(request, "login.html", language, None, 401, problem=text)
    response = RedirectResponse(_landing(principal, next), status_code=303)
    response.set_cookie(KEY_COOKIE, key.strip(), httponly=True, samesite="strict", path="/ui")
    return response


def _landing(principal: Principal, asked: str) -> str:
    """The page asked for before signing in, if it is one of ours; else the role's home."""
    if asked.startswith("/ui/") and not asked.startswith("//") and "\\" not in asked:
        return asked
    return HOME[principal.role]


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/ui")
    return response


@router.get("/language/{language}")
def choose_language(request: Request, language: str, next: str = "/ui/") -> Response:
    """The switch: remember ``language`` and go back to the page it was chosen on."""
    target = next if next.startswith("/ui") and not next.startswith("//") else "/ui/"
    response = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=LANGUAGE_MAX_AGE, samesite="lax", path="/ui"
        )
    return response


#: Included after every other page router: an unknown page under /ui is a page, not JSON.
fallback = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)


@fallback.get("/{unknown:path}", response_class=HTMLResponse)
def not_found(request: Request) -> Response:
    text = translations(negotiate(request)).gettext("There is no such page.")
    return error_page(request, quiet_principal(request), 404, text)
