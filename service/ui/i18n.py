"""The pages' languages: English, Chinese and Russian from Babel message catalogues.

The language is the one the user picked with the switch (a cookie), else the best match of the
browser's ``Accept-Language``, else English. Catalogues are the ``.po`` files under
``locales/``, compiled in memory when first used, so the package ships text only.
"""

from __future__ import annotations

import gettext as stdlib_gettext
from decimal import Decimal, InvalidOperation
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

#: The languages offered, the first being the fallback; each but English has a catalogue.
LANGUAGES: tuple[str, ...] = ("en", "zh", "ru")
#: Each language's name in itself, for the switch.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh": "中文", "ru": "Русский"}
LANGUAGE_COOKIE = "clearing_lang"
CATALOGUES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues where it is defined; it is translated where shown."""
    return message


def catalogue_path(language: str) -> Path:
    return CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> stdlib_gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English: the messages as written)."""
    path = catalogue_path(language)
    if language == LANGUAGES[0] or not path.exists():
        return stdlib_gettext.NullTranslations()
    with path.open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def negotiate(request: Request) -> str:
    """The language to answer ``request`` in: the switch's cookie, else Accept-Language."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return best_match(request.headers.get("accept-language", ""))


def best_match(accept_language: str) -> str:
    """The offered language an ``Accept-Language`` header prefers most (``q`` weights kept)."""
    weighted: list[tuple[Decimal, int, str]] = []
    for place, part in enumerate(accept_language.split(",")[:20]):
        tag, _, parameters = part.strip().partition(";")
        weight = Decimal(1)
        if parameters.strip().startswith("q="):
            try:
                weight = Decimal(parameters.strip()[2:7])
            except InvalidOperation:
                continue
        if tag:
            weighted.append((-weight, place, tag.strip()))
    preferred = [tag for _, _, tag in sorted(weighted)]
    found = Locale.negotiate(preferred, list(LANGUAGES), sep="-") if preferred else None
    return found.language if found is not None else LANGUAGES[0]
