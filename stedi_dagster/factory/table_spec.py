"""What a table is, stated once: a frozen `TableSpec` says what the table's step computes, from
what, with which checks, and how its asset page shows it. `table_step.TableStep` runs it (write,
audit, publish, report) and `table_asset.table_asset` makes it a Dagster asset."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from stedi_dagster.engines import Engine
from stedi_dagster.engines.grown import Relation
from stedi_dagster.factory.checks import Check
from stedi_dagster.factory.drafts import DraftFactory, sql_draft
from stedi_dagster.factory.keyed import Keyed
from stedi_dagster.lakehouse import Lakehouse
from stedi_dagster.tables import TABLES, Table


@dataclass(frozen=True)
class Profile:
    """Metadata computed from a table's new version once its checks pass: `compute(engine,
    lakehouse, name, changed_rows)` queries the table and returns the metadata (`changed_rows`:
    SQL true of every row the version added or removed, when its draft knows; None). `shown_again`:
    its entries, which a version holding the rows of the version before shows again from the
    materialization that computed them (none: computed on every version)."""

    compute: Callable[[Engine, Lakehouse, str, str | None], dict]
    shown_again: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    """Table `name`, computed from `inputs` (other tables) by its SQL (`Table.sql_file`:
    `defs/<zone>/sql/<name>.sql`), or by a `draft` (landing tables, from their JSON files; the
    Polars features) that also writes the tables in `also` (name -> description), and guarded
    by `checks`.

    - `appends`: the inputs whose new rows the SQL turns into new rows of the table alone
      (`increments`), each only with the rows of the same partition of the `partitions` inputs
      (input -> column), if given; `keyed`: how it is maintained per key (`keyed.Keyed`);
    - `relations`: tables its SQL reads, computed from inputs they are `over` and kept per
      version of those (`drafts.sql_draft`);
    - `pseudonymous`: its SQL uses pseudonym(), so the step first makes sure a key applies;
    - `profile`: metadata computed from the new version (`Profile`);
    - `sources`: the Python files that compute it (its definition's module among them), linked
      from the asset page ("View source") after its SQL file; `kinds`: its kind tags.
    """

    name: str
    description: str
    inputs: tuple[str, ...]
    checks: Sequence[Check]  # held as a tuple
    sources: tuple[str, ...] = ()
    appends: tuple[str, ...] = ()
    partitions: tuple[tuple[str, str], ...] = ()
    keyed: Keyed | None = None
    relations: tuple[Relation, ...] = ()
    draft: DraftFactory | None = None
    also: Mapping[str, str] = field(default_factory=dict)
    pseudonymous: bool = False
    profile: Profile | None = None
    kinds: frozenset[str] = frozenset({"duckdb", "parquet"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(self.checks))

    @property
    def table(self) -> Table:
        return TABLES[self.name]

    @property
    def outputs(self) -> dict[str, str]:
        """The tables the step writes (its own, then `also`), each with its description."""
        return {self.name: self.description, **self.also}

    @property
    def check_reads(self) -> list[str]:
        """The tables the checks read besides the step's own."""
        return sorted({r for c in self.checks for r in c.reads} - set(self.outputs))

    @property
    def reads(self) -> list[str]:
        """Every table the step reads: its inputs, then the other tables its checks read."""
        return [*self.inputs, *(r for r in self.check_reads if r not in self.inputs)]

    @property
    def code_files(self) -> list[str]:
        """The files that compute the table: its SQL file (unless a draft computes it), then
        `sources`."""
        sql = [] if self.draft else [str(self.table.sql_file())]
        return [*sql, *self.sources]

    def new_draft(self) -> DraftFactory:
        """What stages the table's next version: the `draft`, else its SQL's."""
        return self.draft or sql_draft(
            self.name, self.appends, self.keyed, self.partitions, self.relations
        )
