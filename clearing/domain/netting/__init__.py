"""The netting core (DESIGN §4): columns in, result out; the corridor circulation; the digest."""

from clearing.domain.netting.columns import SNAPSHOT_COLUMNS, ObligationColumns
from clearing.domain.netting.core import net
from clearing.domain.netting.results import (
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
    "ObligationColumns",
    "Position",
    "Settlement",
    "net",
]
