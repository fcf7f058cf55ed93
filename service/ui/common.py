"""What every page shares: the signed-in viewer (from the key cookie), its language and
formatters, rendering, redirects with a notice, and one route class that turns a refusal from
the engine into a page in the reader's language instead of a traceback or JSON.

Pages authenticate exactly as the API does (the cookie holds the API key) and run the same use
cases, so visibility (DESIGN §7) is decided where it always is: in the domain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from clearing.domain.access import Principal, Role
from clearing.domain.errors import ClearingError
from clearing.use_cases import keys, participants
from clearing.use_cases.ports import UnitOfWork, UnitOfWorkFactory
from clearing.use_cases.validation import MAX_PAGE
from service.errors import status_of
from service.ui.formatting import Formats
from service.ui.i18n import LANGUAGE_NAMES, LANGUAGES, N_, negotiate, translations
from service.ui.words import WORDS

HERE = Path(__file__).resolve().parent
KEY_COOKIE = "clearing_key"
#: Rows per page of every paged list.
PAGE_SIZE = 50

log = logging.getLogger("clearing.pages")

#: What a refusal means, by the engine's error code, in the reader's language; the engine's own
#: message (English, naming the field) follows it.
REFUSED = N_("Refused.")
REFUSALS: dict[str, str] = {
    "invalid_input": N_("Please check your input."),
    "not_found": N_("Not found, or not yours to see."),
    "forbidden": N_("Your role may not do this."),
    "conflict": N_("Not possible in the current state."),
    "not_ready": N_("Not ready yet."),
}


def explain(language: str, refusal: ClearingError) -> str:
    """A refusal for a page: its meaning translated, then the engine's message and field."""
    meaning = translations(language).gettext(REFUSALS.get(refusal.code, REFUSED))
    return f"{meaning} {refusal}"


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context["language"]).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return translations(context["language"]).ngettext(singular, plural, count)


@pass_context
def _word(context: Context, value: object) -> str:
    """An enumeration member (or its value) in the reader's language: see :mod:`words`."""
    text = str(getattr(value, "value", value))
    return translations(context["language"]).gettext(WORDS.get(text, text))


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Newstyle gettext: autoescaped, and ``_("… %(name)s", name=x)`` formats after translating.
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["word"] = _word
    return environment


templates = Jinja2Templates(env=_environment())


class SignInNeeded(Exception):
    """No valid key cookie: the page answers with the sign-in form."""


@dataclass
class Viewer:
    """The signed-in principal of one page request, in its language."""

    request: Request
    principal: Principal
    language: str
    formats: Formats = field(init=False)

    def __post_init__(self) -> None:
        self.formats = Formats(self.language)

    @property
    def uows(self) -> UnitOfWorkFactory:
        factory: UnitOfWorkFactory = self.request.app.state.uows
        return factory

    def uow(self) -> UnitOfWork:
        return self.uows()

    def gettext(self, message: str, **values: Any) -> str:
        """``message`` in the viewer's language, with ``%(name)s`` placeholders filled."""
        translated = translations(self.language).gettext(message)
        return translated % values if values else translated

    def ngettext(self, singular: str, plural: str, count: int, **values: Any) -> str:
        """The form of ``singular``/``plural`` for ``count`` in the viewer's language, with
        ``%(count)s`` and the other placeholders filled."""
        translated = translations(self.language).ngettext(singular, plural, count)
        return translated % {"count": count, **values}

    def explain(self, refusal: ClearingError) -> str:
        """A refusal from the engine as a page shows it: see :func:`explain`."""
        return explain(self.language, refusal)

    @property
    def role(self) -> Role:
        return self.principal.role

    def require(self, *roles: Role) -> None:
        """Refuse (403, as a page) a viewer whose role may not use the page."""
        self.principal.require(*roles)

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, self.language, self.principal, status, **context)

    def back(self, url: str, *, message: str | None = None, error: str | None = None) -> Response:
        """Redirect (303) to ``url`` with a notice or an error shown there (already translated)."""
        query = urlencode({k: v for k, v in (("message", message), ("error", error)) if v})
        separator = "&" if "?" in url else "?"
        return RedirectResponse(f"{url}{separator}{query}" if query else url, status_code=303)

    def names_of(self, participant_ids: set[str]) -> dict[str, str]:
        """Names of these participants, those the viewer may see; for a long list, as
        :meth:`names` (one read of them all rather than one each)."""
        if len(participant_ids) > PAGE_SIZE:
            return self.names()
        found: dict[str, str] = {}
        for participant_id in sorted(participant_ids):
            try:
                found[participant_id] = participants.get_participant(
                    self.uow(), self.principal, participant_id
                ).name
            except ClearingError:
                continue
        return found

    def names(self) -> dict[str, str]:
        """Names of the participants the viewer may see, by id (others show as bare ids)."""
        found: dict[str, str] = {}
        after: str | None = None
        while True:
            batch = participants.list_participants(self.uow(), self.principal, after, MAX_PAGE)
            found.update((p.id, p.name) for p in batch)
            if len(batch) < MAX_PAGE:
                return found
            after = batch[-1].id


def render(
    request: Request,
    template: str,
    language: str,
    principal: Principal | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in ``language``; every template gets the principal, the formatters ``fmt``, the
    notice and error of a redirect, and the language switch."""
    return templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "language": language,
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            "fmt": Formats(language),
            "message": request.query_params.get("message"),
            "error": request.query_params.get("error"),
            "Role": Role,
            **context,
        },
        status_code=status,
    )


def current_viewer(request: Request) -> Viewer:
    key = request.cookies.get(KEY_COOKIE)
    principal = keys.authenticate(request.app.state.uows(), key.strip()) if key else None
    if principal is None:
        raise SignInNeeded
    return Viewer(request, principal, negotiate(request))


#: The signed-in viewer of a page; without one the page answers with the sign-in form.
SignedIn = Annotated[Viewer, Depends(current_viewer)]


def error_page(request: Request, principal: Principal | None, status: int, text: str) -> Response:
    return render(request, "error.html", negotiate(request), principal, status, problem=text)


class PageRoute(APIRoute):
    """A page's route: no sign-in → the sign-in form; a refusal from the engine → an error page
    with its status (403, 404, 409, 422) and message; nothing unexpected leaks a traceback."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                target = urlencode({"next": request.url.path}) if request.method == "GET" else ""
                return RedirectResponse(
                    f"/ui/login?{target}" if target else "/ui/login", status_code=303
                )
            except RequestValidationError as invalid:
                return error_page(
                    request, quiet_principal(request), 422, _invalid(request, invalid)
                )
            except ClearingError as refusal:
                status = status_of(refusal)
                if status == 500:
                    log.error("unexpected engine error on a page: %s", refusal)
                    return error_page(request, None, 500, _internal(request))
                return error_page(
                    request, quiet_principal(request), status, explain(negotiate(request), refusal)
                )

        return page_handler


def _invalid(request: Request, invalid: RequestValidationError) -> str:
    fields = sorted({str(error["loc"][-1]) for error in invalid.errors() if error.get("loc")})
    template = translations(negotiate(request)).gettext("Please check these fields: %(fields)s")
    return template % {"fields": ", ".join(fields)}


def _internal(request: Request) -> str:
    return translations(negotiate(request)).gettext("Something went wrong on our side.")


def quiet_principal(request: Request) -> Principal | None:
    key = request.cookies.get(KEY_COOKIE)
    return keys.authenticate(request.app.state.uows(), key.strip()) if key else None
