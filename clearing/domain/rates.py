"""The rate set a cycle is valued with: the base currency, the jurisdictions' currencies and
exact decimal FX rates (value of one major unit in major units of the base)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from clearing.domain.errors import InvalidInput
from clearing.domain.money import check_currency, format_rate, parse_rate

_JURISDICTION_CODE = re.compile(r"[A-Z]{2,8}")


def check_jurisdiction(code: str, *, field: str = "jurisdiction") -> str:
    """Return ``code`` if it is a jurisdiction code (2 to 8 capital letters, e.g. ``CN``)."""
    if not isinstance(code, str) or not _JURISDICTION_CODE.fullmatch(code):
        raise InvalidInput(f'{code!r} is not a jurisdiction code such as "CN"', field=field)
    return code


@dataclass(frozen=True)
class RateSet:
    """One fixed set of rates. ``rates[base]`` is 1; every jurisdiction currency has a rate."""

    base: str
    jurisdictions: Mapping[str, str]
    rates: Mapping[str, Decimal]
    source: str = ""
    as_of: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "jurisdictions", MappingProxyType(dict(self.jurisdictions)))
        object.__setattr__(self, "rates", MappingProxyType(dict(self.rates)))
        check_currency(self.base, field="base")
        if len(self.jurisdictions) < 2:
            raise InvalidInput("at least two jurisdictions are needed", field="jurisdictions")
        for code, currency in self.jurisdictions.items():
            check_jurisdiction(code, field=f"jurisdictions.{code}")
            check_currency(currency, field=f"jurisdictions.{code}")
        if self.rates.get(self.base) != Decimal(1):
            raise InvalidInput(f"the base currency {self.base} must have rate 1", field="rates")
        missing = sorted(set(self.jurisdictions.values()) - set(self.rates))
        if missing:
            raise InvalidInput(
                f"no rate for jurisdiction currency {', '.join(missing)}", field="rates"
            )

    def rate(self, currency: str) -> Decimal:
        try:
            return self.rates[currency]
        except KeyError:
            raise InvalidInput(f"no rate for currency {currency}", field="rates") from None

    def missing(self, currencies: Iterable[str]) -> list[str]:
        """The currencies among ``currencies`` that have no rate, sorted."""
        return sorted(set(currencies) - set(self.rates))

    def restricted_to(self, currencies: Iterable[str]) -> RateSet:
        """This rate set with only the rates of ``currencies``, the base and the jurisdictions."""
        keep = set(currencies) | set(self.jurisdictions.values()) | {self.base}
        return RateSet(
            base=self.base,
            jurisdictions=self.jurisdictions,
            rates={c: r for c, r in self.rates.items() if c in keep},
            source=self.source,
            as_of=self.as_of,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "jurisdictions": dict(sorted(self.jurisdictions.items())),
            "rates": {c: format_rate(r) for c, r in sorted(self.rates.items())},
            "source": self.source,
            "as_of": self.as_of,
        }

    @classmethod
    def from_json(cls, document: Any) -> RateSet:
        """Build a rate set from the ``RATES.json`` object of DESIGN §10, naming bad fields."""
        if not isinstance(document, dict):
            raise InvalidInput("must be a JSON object", field="rates")
        base = document.get("base")
        if not isinstance(base, str):
            raise InvalidInput("is required: the base currency code", field="base")
        jurisdictions = document.get("jurisdictions")
        if not isinstance(jurisdictions, dict) or not jurisdictions:
            raise InvalidInput(
                "is required: an object of jurisdiction -> currency", field="jurisdictions"
            )
        rates = document.get("rates")
        if not isinstance(rates, dict) or not rates:
            raise InvalidInput("is required: an object of currency -> rate", field="rates")
        parsed: dict[str, Decimal] = {}
        for currency, text in rates.items():
            check_currency(currency, field=f"rates.{currency}")
            parsed[currency] = parse_rate(text, field=f"rates.{currency}")
        for key in ("source", "as_of"):
            if document.get(key) is not None and not isinstance(document.get(key), str):
                raise InvalidInput("must be a string", field=key)
        return cls(
            base=base,
            jurisdictions={str(k): str(v) for k, v in jurisdictions.items()},
            rates=parsed,
            source=document.get("source") or "",
            as_of=document.get("as_of") or "",
        )
