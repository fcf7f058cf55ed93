"""The fake repository of liquidity lines, with the semantics of
:class:`clearing.adapters.persistence.lines.LineRepository`: lines by id, their history and
movements in the order written, each cycle's line terms and movements by line id."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from clearing.domain.errors import Conflict
from clearing.domain.lines import Line, LineEvent, LineStatus, Movement
from clearing.domain.netting.lines import LineMovement, LineTerms
from tests.fakes.tables import Repository, refuse_unless


def _check_row(line: Line) -> None:
    refuse_unless(line.limit >= 0, "lines.limit_not_negative")
    refuse_unless(line.balance >= 0, "lines.balance_not_negative")
    refuse_unless(line.source != line.target, "lines.two_entities")


class FakeLines(Repository):
    def add(self, line: Line) -> None:
        tables = self._write
        refuse_unless(line.id not in tables.lines, "lines primary key")
        for code in line.parties:
            refuse_unless(code in tables.entities, "lines -> entities")
        if any(
            (other.source, other.target, other.currency)
            == (line.source, line.target, line.currency)
            for other in tables.lines.values()
        ):
            raise Conflict(
                f"a line funding {line.source} to {line.target} in {line.currency} was added "
                "meanwhile",
                field="from",
            )
        _check_row(line)
        tables.lines[line.id] = line

    def save(self, line: Line) -> None:
        tables = self._write
        if line.id not in tables.lines:
            return  # an UPDATE of no row
        _check_row(line)
        tables.lines[line.id] = line

    def get(self, line_id: str, *, for_update: bool = False) -> Line | None:
        return self._read.lines.get(line_id)

    def lock(self, line_ids: Collection[str]) -> dict[str, Line]:
        lines = self._read.lines
        return {i: lines[i] for i in sorted(set(line_ids)) if i in lines}

    def between(self, source: str, target: str) -> list[Line]:
        return sorted(
            (
                line
                for line in self._read.lines.values()
                if (line.source, line.target) == (source, target)
            ),
            key=lambda line: line.id,
        )

    def active(self) -> list[Line]:
        return sorted(
            (line for line in self._read.lines.values() if line.status is LineStatus.ACTIVE),
            key=lambda line: line.id,
        )

    def add_event(self, event: LineEvent) -> None:
        tables = self._write
        refuse_unless(event.line_id in tables.lines, "line_events -> lines")
        tables.line_events.append(event)

    def events(self, line_id: str) -> list[LineEvent]:
        return [e for e in self._read.line_events if e.line_id == line_id]

    def add_movements(self, movements: Sequence[Movement]) -> None:
        tables = self._write
        for movement in movements:
            refuse_unless(movement.line_id in tables.lines, "line_movements -> lines")
            refuse_unless(movement.cycle_id in tables.cycles, "line_movements -> cycles")
            refuse_unless(
                all(
                    (m.line_id, m.cycle_id) != (movement.line_id, movement.cycle_id)
                    for m in tables.line_movements
                ),
                "line_movements primary key",
            )
            tables.line_movements.append(movement)

    def movements(self, line_id: str) -> list[Movement]:
        return [m for m in self._read.line_movements if m.line_id == line_id]

    def store_cycle(
        self, cycle_id: str, terms: Sequence[LineTerms], movements: Sequence[LineMovement]
    ) -> None:
        if not terms:
            return
        tables = self._write
        refuse_unless(cycle_id in tables.cycles, "cycle_lines -> cycles")
        refuse_unless(cycle_id not in tables.cycle_lines, "cycle_lines primary key")
        by_line = {m.line_id: m for m in movements}
        refuse_unless(set(by_line) == {t.line_id for t in terms}, "one movement per term")
        tables.cycle_lines[cycle_id] = tuple(
            (t, by_line[t.line_id]) for t in sorted(terms, key=lambda t: t.line_id)
        )

    def cycle_terms(self, cycle_id: str) -> list[LineTerms]:
        return [terms for terms, _ in self._read.cycle_lines.get(cycle_id, ())]

    def movements_of_cycles(self, cycle_ids: Collection[str]) -> dict[str, list[LineMovement]]:
        stored = self._read.cycle_lines
        return {
            cycle_id: [movement for _, movement in stored[cycle_id]]
            for cycle_id in cycle_ids
            if cycle_id in stored
        }

    def list(self, entity: str | None, after: str | None, limit: int) -> list[Line]:
        found = sorted(
            (
                line
                for line in self._read.lines.values()
                if (entity is None or entity in line.parties) and (after is None or line.id > after)
            ),
            key=lambda line: line.id,
        )
        return found[:limit]
