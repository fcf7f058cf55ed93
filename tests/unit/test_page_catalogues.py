"""The pages' message catalogues are complete: every message the templates and the service
mark for translation has a Chinese and a Russian translation, none fuzzy, with the same
placeholders; no template shows text it did not mark; and every status, role and policy the
pages show has its word."""

from __future__ import annotations

import enum
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from clearing.domain.access import Role
from clearing.domain.cycles import CycleStatus
from clearing.domain.invoices import Status
from clearing.domain.lines import LineAction, LineStatus
from clearing.domain.obligations import Policy
from service.ui.i18n import LANGUAGES, catalogue_path
from service.ui.words import WORDS

SERVICE = Path(__file__).resolve().parents[2] / "service"
METHODS = [("**.py", "python"), ("ui/templates/**.html", "jinja2")]
OPTIONS = {"ui/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


@cache
def marked_messages() -> frozenset[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    return frozenset(
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            SERVICE, METHODS, OPTIONS, keywords
        )
    )


def catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as source:
        return read_po(source, locale=language)


def test_the_sources_mark_messages_for_translation() -> None:
    assert {"Sign in", "Approved for %(entity)s.", "carried forward"} <= marked_messages()


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_every_marked_message_has_a_translation_that_is_not_fuzzy(language: str) -> None:
    found = catalogue(language)
    missing = sorted(
        m for m in marked_messages() if m not in found or not found[m].string or found[m].fuzzy
    )
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_translations_keep_the_placeholders_of_their_message(language: str) -> None:
    problems = [
        (message.id, [str(error) for error in errors])
        for message, errors in catalogue(language).check()
    ]
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_a_catalogue_holds_no_message_the_sources_no_longer_use(language: str) -> None:
    found = catalogue(language)
    singular = [m.id if isinstance(m.id, str) else m.id[0] for m in found if m.id]
    assert sorted(m for m in singular if m not in marked_messages()) == []


@pytest.mark.parametrize("enumeration", [Status, CycleStatus, Role, Policy, LineStatus, LineAction])
def test_every_member_the_pages_show_has_its_word(enumeration: type[enum.StrEnum]) -> None:
    assert [member.value for member in enumeration if member.value not in WORDS] == []


#: Jinja tags and comments, scripts and styles: what a template's literal text is not.
NOT_TEXT = re.compile(
    r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}|<script.*?</script>|<style.*?</style>", re.S
)
#: A word a reader would need translated: two letters or more, not a code such as CNY or RU.
WORD = re.compile(r"\b(?![A-Z]{2,4}\b)[A-Za-z]{2,}")


@pytest.mark.parametrize(
    "template", sorted(p.name for p in (SERVICE / "ui" / "templates").glob("*.html"))
)
def test_a_template_shows_no_text_it_did_not_mark_for_translation(template: str) -> None:
    markup = NOT_TEXT.sub(" ", (SERVICE / "ui" / "templates" / template).read_text())
    texts = re.findall(r">([^<]+)<", markup)
    attributes = re.findall(r'(?:placeholder|title|aria-label|alt)="([^"]*)"', markup)
    assert [t.strip() for t in [*texts, *attributes] if WORD.search(t)] == []
