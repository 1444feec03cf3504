"""The Spark engine (STEDI_ENGINE=spark): the same SQL files, steps and checks, run by Spark SQL.

`SparkEngine` implements `Engine` on a Spark session of its own: it takes the project's DuckDB SQL
(the one definition of every transform and check) and transpiles it to Spark SQL with sqlglot.
Only what Spark SQL lacks is rewritten here, in the syntax tree:

- `getvariable('name')` becomes the setting's literal;
- `person_key(v)` becomes the person key's expression (`privacy/identity.py`), inlined;
- `pseudonym(v)` becomes the same HMAC-SHA256 in Spark functions (`sha2`, `unhex`, `concat`);
- `erased(kind, v)` / `erased_words(text)` become membership tests against the erasure list;
- a QUALIFY over `select *` gets its columns spelled out, so sqlglot can move the window into a
  subquery (Spark SQL has no QUALIFY).

Tables are still published by the project (`TableStore.publish`, `LandingDraft.publish`): Spark
writes each new version into the step's local staging folder, one Parquet file per table or per
landing file, and the project renames it into place. Spark's own output committer is not relied
on: on local disk a rename is atomic, on S3 the single upload is.
"""

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from stedi_dagster.engines.engine import (
    BUCKET_COLUMN,
    Params,
    Part,
    RowCounts,
    Spread,
    SqlContext,
    counted_nulls,
    footer_nulls,
    footer_rows,
    spread_files,
)
from stedi_dagster.engines.parquet import file_columns
from stedi_dagster.errors import LakehouseError
from stedi_dagster.privacy.identity import person_key_sql
from stedi_dagster.sql import ident
from stedi_dagster.tables import EXTERNAL_TYPES

# Spark settings for a laptop-sized driver; any of them can be overridden by STEDI_SPARK_CONF.
SPARK_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.driver.memory": "2g",
    # files are read from shared storage, not HDFS blocks: waiting for a "local" executor only
    # delays every task (3 s by default)
    "spark.locality.wait": "0s",
    # no table is ever saved to Spark's catalog: keep its folder out of the working directory
    "spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "stedi-spark-warehouse"),
}


@contextmanager
def spark_errors(context: str) -> Iterator[None]:
    """Spark's errors as LakehouseError (a step failure that names what failed), first line
    first, with `context` (the statement, or what was being written)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JJavaError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LakehouseError(f"Spark: {first}\n{context}") from e


# Spark's type names back to DuckDB's (string is VARCHAR, not JSON: the first name wins)
DUCKDB_TYPES: dict[str, str] = {}
for _duckdb, _spark in EXTERNAL_TYPES.items():
    DUCKDB_TYPES.setdefault(_spark, _duckdb)


@cache
def _footers() -> Any:
    """A DuckDB database for the rows of local Parquet files, from their footers (kept)."""
    import duckdb

    con = duckdb.connect()
    con.execute("set global parquet_metadata_cache = true")
    return con


def spark_type(duckdb_type: str) -> str:
    return EXTERNAL_TYPES[duckdb_type.upper()]


def spark_schema(columns: dict[str, str]) -> str:
    """A Spark DDL schema string for columns (name -> DuckDB type)."""
    return ", ".join(f"{ident(c, '`')} {spark_type(t)}" for c, t in columns.items())


@cache
def spark_session(master: str, conf: tuple[tuple[str, str], ...] = ()) -> Any:
    """The process's SparkSession (its JVM starts once, in about 10 s)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise LakehouseError(
            "STEDI_ENGINE=spark needs PySpark: pip install 'stedi-dagster[spark]' (and Java 17)"
        ) from e
    builder = SparkSession.builder.master(master).appName("stedi-dagster")
    for key, value in (SPARK_DEFAULTS | dict(conf)).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def parse_conf(text: str | None) -> tuple[tuple[str, str], ...]:
    """STEDI_SPARK_CONF: `key=value` pairs separated by commas or white space."""
    pairs = []
    for item in re.split(r"[,\s]+", (text or "").strip()):
        if item:
            key, sep, value = item.partition("=")
            if not sep:
                raise LakehouseError(f"STEDI_SPARK_CONF: {item!r} is not key=value")
            pairs.append((key, value))
    return tuple(pairs)


def write_parquet_file(frame: Any, path: Path, compression: str = "zstd") -> None:
    """Write a DataFrame as exactly one Parquet file at `path` (Spark writes a folder of parts:
    one task writes it, then the part is moved to `path`)."""
    out = path.with_name(path.name + ".spark")
    with spark_errors(f"writing {path}"):
        frame.coalesce(1).write.mode("overwrite").option("compression", compression).parquet(
            str(out)
        )
    parts = sorted(out.glob("part-*.parquet"))
    if len(parts) != 1:
        raise LakehouseError(f"Spark wrote {len(parts)} Parquet parts for {path}, expected 1")
    parts[0].replace(path)
    shutil.rmtree(out)


class SparkEngine:
    """`Engine` on a Spark session of its own (temporary views are per session, as DuckDB's
    are per connection)."""

    name = "spark"

    def __init__(self, spark: Any, context: SqlContext):
        self.spark = spark.newSession()
        self.context = context
        self.prepared: set[str] = set()
        self.counts = RowCounts()
        self.views: set[str] = set()  # the temporary views made, which `close` drops

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        frame = self.frame(sql, params)
        return [tuple(row) for row in self._run(frame.collect, sql)]

    def scalar(self, sql: str, params: Params = None) -> Any:
        return self.rows(sql, params)[0][0]

    def count(self, name: str) -> int:
        files = self.counts.data_files(name)
        if files is not None and not any("://" in f for f in files):  # local: no Spark job

            def from_footers() -> int:
                with _footers().cursor() as con:
                    return footer_rows(con, files)

            return self.counts.of(name, from_footers)
        return self.counts.of(name, lambda: self.scalar(f"select count(*) from {ident(name)}"))

    def null_counts(self, name: str, columns: Sequence[str]) -> dict[str, int]:
        files = self.counts.data_files(name)
        if files and not any("://" in f for f in files):  # local: no Spark job
            with _footers().cursor() as con:
                found = footer_nulls(con, files, columns)
            if found is not None:
                return found
        return counted_nulls(self, name, columns)

    def per_file(self, name: str, table: str, query: Callable[[str], str]) -> None:
        self.create_table(name, query(f"select * from {ident(table)}"))

    def create_view(self, name: str, sql: str, rows_of: str | None = None) -> None:
        self.counts.creating(name, rows_of=rows_of)
        self.show_as(name, self.frame(sql))

    def create_table(
        self, name: str, sql: str, shared_over: Sequence[str] = (), kept: bool = True
    ) -> None:
        """The query's rows, computed now, as DuckDB's table is (a local checkpoint, kept by
        the executors in memory and on disk): the queries that read it read those rows instead
        of computing its plan again, each (the partitions a withdrawal reaches are read by three
        queries: a withdrawal on the handmade data, 101 s as a view, 75 s so)."""
        self.counts.creating(name)
        frame = self.frame(sql)
        self.show_as(name, self._run(lambda: frame.localCheckpoint(eager=True), sql))

    def kept_table(self, name: str, sql: str, shared_over: Sequence[str]) -> str | None:
        return None  # no table is kept between Spark's steps

    def keep_table(
        self,
        name: str,
        sql: str,
        shared_over: Sequence[str],
        computed_as: str | None = None,
        part: Part | None = None,
    ) -> None:
        pass  # no table is kept between Spark's steps

    def view_parquet(self, name: str, paths: Sequence[str], filename: bool = False) -> None:
        self.counts.creating(name, files=paths)
        listed = [str(p) for p in paths]
        reader = self.spark.read.option("mergeSchema", "true")
        with _footers().cursor() as con:
            found = file_columns(con, listed)
        # local files: their schema stated, from their footers as DuckDB reads them once per
        # file, not inferred by a Spark job reading them each time (90 ms a view on the
        # handmade data; a withdrawal there reads 180 views); a column a file lacks reads null
        if found is not None and all(t in EXTERNAL_TYPES for t in found[0].values()):
            reader = reader.schema(spark_schema(found[0]))
        frame = self._run(lambda: reader.parquet(*listed), f"reading {listed}")
        if filename:
            from pyspark.sql import functions as F

            path = F.regexp_replace(F.col("_metadata.file_path"), "^file:(//)?", "")
            frame = frame.withColumn("filename", path)
        self.show_as(name, frame)

    def fill_table(self, name: str, columns: dict[str, str], rows: Sequence[Sequence]) -> None:
        self.counts.creating(name)
        self.show_as(
            name, self.spark.createDataFrame([tuple(r) for r in rows], spark_schema(columns))
        )

    def describe(self, name: str) -> dict[str, str]:
        dtypes = self._run(lambda: self.spark.table(name).dtypes, f"describe {name}")
        return {c: DUCKDB_TYPES.get(t, t.upper()) for c, t in dtypes}

    def write_parquet(
        self,
        sql: str,
        path: Path,
        spread: Spread | None = None,
        row_group_rows: int | None = None,  # Spark's row groups are sized in bytes
    ) -> list[Path]:
        if spread is None or spread.buckets <= 1:
            write_parquet_file(self.frame(sql), path)
            return [path]
        from pyspark.sql import functions as F

        bucket = F.pmod(F.hash(F.col(spread.column)), F.lit(spread.buckets))
        frame = self.frame(sql).withColumn(BUCKET_COLUMN, bucket).repartition(BUCKET_COLUMN)
        out = path.with_name(path.name + ".spark")
        with spark_errors(f"writing {path}"):
            frame.write.mode("overwrite").partitionBy(BUCKET_COLUMN).option(
                "compression", "zstd"
            ).parquet(str(out))
        return spread_files(out, path)

    def close(self) -> None:
        """Drop the temporary views made (those made by `localCheckpoint` hold its rows; listing
        the session's tables instead took 0.2 s an engine, 5% of a run of the handmade data)."""
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        self.views.clear()

    # --- Spark -----------------------------------------------------------------------------

    def show_as(self, name: str, frame: Any) -> None:
        """The DataFrame as temporary view `name` of the engine's session (dropped by `close`)."""
        frame.createOrReplaceTempView(name)
        self.views.add(name)

    def frame(self, sql: str, params: Params = None) -> Any:
        """The DataFrame of a query in the project's DuckDB SQL."""
        if isinstance(params, (list, tuple)) and params:
            sql, params = _named_parameters(sql, params)
        return self.spark_sql(self.translate(sql), params)

    def spark_sql(self, sql: str, params: Params = None) -> Any:
        """The DataFrame of a query in Spark SQL (for the few that are Spark's own)."""
        args = dict(params) if isinstance(params, dict) else list(params or [])
        return self._run(lambda: self.spark.sql(sql, args=args or None), sql)

    def translate(self, sql: str) -> str:
        """The DuckDB query as Spark SQL."""
        try:
            tree = sqlglot.parse_one(sql, read="duckdb")
        except sqlglot.errors.ParseError as e:
            raise LakehouseError(f"the Spark engine cannot parse this SQL: {e}\n{sql}") from e
        tree = tree.transform(self._rewrite)
        for qualify in tree.find_all(exp.Qualify):
            self._spell_out_star(qualify.parent)
        return tree.sql("spark")

    def _run(self, action, sql: str) -> Any:
        with spark_errors(f"in: {' '.join(sql.split())[:500]}"):
            return action()

    # --- rewriting DuckDB-only functions ---------------------------------------------------

    def _rewrite(self, node: exp.Expression) -> exp.Expression:
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        args = node.expressions if name else []
        if name == "getvariable":
            variable = args[0].name
            if variable not in self.context.variables:
                raise LakehouseError(f"getvariable('{variable}'): no such setting")
            return exp.Literal.string(self.context.variables[variable])
        if name == "person_key":
            return person_key(args[0])
        if name == "pseudonym":
            return self._pseudonym(args[0])
        if name == "erased":
            return self._erased(args[0].name, args[1])
        if name == "erased_words":
            return self._erased_words(args[0])
        return node

    def _pseudonym(self, value: exp.Expression) -> exp.Expression:
        if self.context.hmac_pads is None:
            raise LakehouseError("pseudonym(): no pseudonym key")
        inner, outer = (pad.hex() for pad in self.context.hmac_pads)
        template = (
            f"left(sha2(concat(unhex('{outer}'), unhex(sha2(concat(unhex('{inner}'), "
            "encode(__value, 'UTF-8')), 256))), 256), 32)"
        )
        return _substitute(template, person_key(value))

    def _erased(self, kind: str, value: exp.Expression) -> exp.Expression:
        return _substitute(self.erased_sql(kind, "__value"), value)

    def _erased_words(self, text: exp.Expression) -> exp.Expression:
        return _substitute(self.erased_words_sql("__value"), text)

    def erased_sql(self, kind: str, value: str) -> str:
        """Spark SQL: whether `value` (an email or serial) is on the erasure list as `kind`."""
        hashes = [sha for k, sha in self.context.erased if k == kind]
        if not hashes:
            return "false"
        listed = ", ".join(f"'{h}'" for h in hashes)
        key = spark_person_key(value)
        return f"coalesce(sha2({key}, 256) in ({listed}), false)"

    def erased_words_sql(self, text: str) -> str:
        """Spark SQL: whether any word of `text` is on the erasure list (for lines that are not
        JSON objects)."""
        if not self.context.erased:
            return "false"
        listed = ", ".join(f"'{sha}'" for _, sha in self.context.erased)
        words = rf"""regexp_extract_all({text}, '([^\\s",:{{}}\\[\\]]+)', 1)"""
        key = spark_person_key("w")
        return (
            f"coalesce(arrays_overlap(transform({words}, w -> sha2({key}, 256)), "
            f"array({listed})), false)"
        )

    def _spell_out_star(self, select: exp.Expression) -> None:
        """Replace `select *` from one table by its columns (for QUALIFY's rewrite)."""
        if not isinstance(select, exp.Select) or not select.is_star:
            return
        tables = list(select.find_all(exp.Table))
        columns = self._run(lambda: self.spark.table(tables[0].name).columns, select.sql())
        select.set("expressions", [exp.column(c, quoted=True) for c in columns])


def _named_parameters(sql: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """The query with its positional parameters (`?`) named `$_p0`, `$_p1`, ... in their order,
    and their values by name: an expression the translation writes more than once (the person
    key names its value five times) then reads one parameter, not five."""
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    marks = [t.start for t in tokens if t.token_type == sqlglot.tokens.TokenType.PLACEHOLDER]
    if len(marks) != len(params):
        raise LakehouseError(f"{len(params)} parameters for {len(marks)} placeholders in: {sql}")
    named = sql
    for i, start in reversed(list(enumerate(marks))):
        named = f"{named[:start]}$_p{i}{named[start + 1 :]}"
    return named, {f"_p{i}": value for i, value in enumerate(params)}


def person_key(value: exp.Expression) -> exp.Expression:
    """The person key of `value`, as `privacy/identity.py` defines it."""
    return _substitute(person_key_sql(), value, placeholder="value", read="duckdb")


def spark_person_key(value: str) -> str:
    """Spark SQL: the person key of a Spark SQL expression."""
    return person_key(sqlglot.parse_one(value, read="spark")).sql("spark")


def _substitute(
    template: str, value: exp.Expression, placeholder: str = "__value", read: str = "spark"
) -> exp.Expression:
    """Parse an SQL expression and put `value` where it says `placeholder`."""
    tree = sqlglot.parse_one(template, read=read)
    return tree.transform(
        lambda n: value.copy() if isinstance(n, exp.Column) and n.name == placeholder else n
    )
