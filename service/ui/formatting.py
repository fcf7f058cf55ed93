"""How the pages show figures, in the reader's language: amounts with the locale's grouping and
their currency, ratios as percentages, times in the reader's time zone (UTC on hover).

Amounts arrive as integer minor units and leave as text; the only arithmetic is Babel's
formatting of the exact decimal that :func:`format_amount` writes, so nothing is rounded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup, escape

from clearing.domain.money import exponent, format_amount


@dataclass(frozen=True, slots=True)
class Formats:
    """Formatters bound to one language (``en``, ``zh``, ``ru``)."""

    language: str

    def amount(self, minor: int, currency: str) -> str:
        """``minor`` units of ``currency`` grouped per locale, every minor digit shown."""
        places = exponent(currency)
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return format_decimal(
            Decimal(format_amount(minor, currency)),
            format=pattern,
            locale=self.language,
            decimal_quantization=False,
        )

    def money(self, minor: int, currency: str) -> str:
        """The amount followed by its currency code: ``1,234.50 CNY``."""
        return f"{self.amount(minor, currency)}\u00a0{currency}"

    def percent(self, ratio: str | Decimal | None, places: int = 1) -> str:
        """A ratio (``"0.176295"``) as a percentage (``17.6%``); empty for none."""
        if ratio is None or ratio == "":
            return ""
        # The locale's own pattern (``#,##0%``, ``#,##0\u00a0%``) with ``places`` decimals.
        pattern = Locale.parse(self.language).percent_formats[None].pattern
        last_digit = pattern.rfind("0") + 1
        if places:
            pattern = f"{pattern[:last_digit]}.{'0' * places}{pattern[last_digit:]}"
        return format_percent(Decimal(ratio), format=pattern, locale=self.language)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.language)

    def day(self, value: date | None) -> str:
        return "" if value is None else format_date(value, format="medium", locale=self.language)

    def when(self, moment: datetime | None) -> Markup:
        """A ``<time>`` the page's script shows in the reader's time zone; its text (without
        the script) and its hover title are UTC."""
        if moment is None:
            return Markup("")
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        shown = format_datetime(utc, format="medium", tzinfo=UTC, locale=self.language)
        iso = utc.isoformat().replace("+00:00", "Z")
        return Markup('<time datetime="{}" title="{} UTC">{} UTC</time>').format(
            escape(iso), escape(shown), escape(shown)
        )
