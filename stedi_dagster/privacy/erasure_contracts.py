"""What the erasure (`erasure.py`) asks of the code around it, which privacy does not import:
the tables maintained per key, from which it removes every subject it reaches for their next
step to compute again (`KeyedTable`: `Keyed` of the table factory), and the checks it evaluates
on the versions it commits (`ErasedChecks`: `factory/erasure_checks.py`), told what each of its
commits removed (`Removal`)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from stedi_dagster.engines import Engine
from stedi_dagster.lakehouse.resource import Lakehouse
from stedi_dagster.sql import any_of


class KeyedTable(Protocol):
    """A table maintained per key (`Keyed` of the table factory): which of its keys the rows
    removed from its inputs reach, and SQL selecting the rows of keys."""

    def keys(self, engine: Engine) -> list[str]: ...

    def conditions(self, keys: Sequence[str]) -> list[str]: ...


@dataclass(frozen=True)
class Removal:
    """The erasure's commit of a table: the version before it (the only commit since), and SQL
    true of every row it removed (all of the rows of their key values; those it is false of are
    the same in the data files it wrote again as in those it removed)."""

    version: int
    conditions: tuple[str, ...]
    # of a table whose rows belong to persons by its key field (a landing table, or one of
    # `EXACT_ERASURE`): that column and the person keys of the erased of its kind, whose rows
    # are all gone; the table and the values of the column it removed, which its conditions
    # read from a temporary table (`listed_in`)
    column: str = ""
    persons: tuple[str, ...] = ()
    table: str = ""
    values: tuple[str, ...] = ()

    def listed_in(self, engine: Engine) -> None:
        """The table of the values it removed, which its conditions read, on `engine`'s
        connection alone (no table computed from them is shared with the process's other
        connections)."""
        if self.table:
            rows = [(v,) for v in self.values]
            engine.fill_table(f"erased_values_{self.table}", {"value": "VARCHAR"}, rows)

    @property
    def rows(self) -> str:
        """SQL true of the rows it removed."""
        return any_of(self.conditions)

    def of(self, rows: str) -> str:
        """SQL: the rows of `rows` (a view of the table) that the conditions are true of, by
        one scan per condition, none twice (a filter on one column reaches the Parquet scan,
        whose statistics and Bloom filters skip row groups; an `or` of two does not)."""
        scans, before = [], ""
        for condition in self.conditions:
            scans.append(f"select * from {rows} where {condition}{before}")
            before += f" and not coalesce({condition}, false)"
        return " union all ".join(scans) or f"select * from {rows} where false"


class ErasedChecks(Protocol):
    """The checks an erasure evaluates on the versions it commits, before their reads' earlier
    files go (`factory/erasure_checks.py`): each table's results (each naming its `check`, and
    whether it `failed`: rows of the erased are left), from each table's last commit before the
    erasure (`steps`) and the commits it made (`removals`, landing's too): `evaluate` those
    over trusted and curated tables, `over_landing` those that read landing tables too, once the
    relations kept from landing are kept again (`spellings_before`: SQL of the landing
    spellings kept before the erasure, by name); and the commit metadata that records a table's
    results with its version."""

    def evaluate(
        self,
        engine: Engine,
        lakehouse: Lakehouse,
        steps: Mapping[str, tuple | None],
        removals: Mapping[str, Removal],
    ) -> Mapping[str, Sequence[Any]]: ...

    def over_landing(
        self,
        engine: Engine,
        lakehouse: Lakehouse,
        steps: Mapping[str, tuple | None],
        removals: Mapping[str, Removal],
        spellings_before: Mapping[str, str],
    ) -> Mapping[str, Sequence[Any]]: ...

    def recorded(self, lakehouse: Lakehouse, name: str, done: Sequence[Any]) -> dict[str, str]: ...
