"""The netting core (DESIGN §4): columns in, result out; the corridor circulation; the digest."""

from clearing.domain.netting.core import net
from clearing.domain.netting.results import (
    SNAPSHOT_COLUMNS,
    CorridorTotal,
    Figures,
    JurisdictionTotal,
    Metrics,
    NettingResult,
    Position,
    Settlement,
)

__all__ = [
    "SNAPSHOT_COLUMNS",
    "CorridorTotal",
    "Figures",
    "JurisdictionTotal",
    "Metrics",
    "NettingResult",
    "Position",
    "Settlement",
    "net",
]
