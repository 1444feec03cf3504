"""The Spark engine (STEDI_ENGINE=spark): the same SQL files, steps and checks, run by Spark SQL.

`SparkConnection` stands where a DuckDB connection stands: it takes the project's DuckDB SQL (the
one definition of every transform and check) and transpiles it to Spark SQL with sqlglot. Only
what Spark SQL lacks is rewritten here, in the syntax tree:

- `getvariable('name')` becomes the setting's literal;
- `pseudonym(v)` becomes the same HMAC-SHA256 in Spark functions (`sha2`, `unhex`, `concat`);
- `erased(kind, v)` / `erased_words(text)` become membership tests against the erasure list;
- `read_parquet(...)` becomes a temporary view over `spark.read.parquet` (`filename = true`
  adds the file's path);
- a QUALIFY over `select *` gets its columns spelled out, so sqlglot can move the window into a
  subquery (Spark SQL has no QUALIFY).

Tables are still published by the project (`Lakehouse.publish`, `LandingDraft.publish`): Spark
writes each new version into the step's local staging folder, one Parquet file per table or per
landing file, and the project renames it into place. Spark's own output committer is not relied
on: on local disk a rename is atomic, on S3 the single upload is.
"""

import itertools
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from stedi_dagster.errors import LakehouseError

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
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "date": "DATE",
    "boolean": "BOOLEAN",
}
SPARK_TYPES = {duck.lower(): spark for spark, duck in DUCKDB_TYPES.items()} | {"json": "string"}

_DECLARE = re.compile(r"create or replace temp table (\w+) \(([^()]*)\)$", re.I | re.S)
_CREATE_AS = re.compile(r"create or replace temp (?:view|table) (\w+) as\s+(.*)$", re.I | re.S)
_INSERT = re.compile(r"insert into (\w+) values", re.I)
_DESCRIBE = re.compile(r"describe (\w+)$", re.I)
_DROP = re.compile(r"drop (?:table|view) (?:if exists )?(\w+)$", re.I)


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


def spark_type(duckdb_type: str) -> str:
    return SPARK_TYPES[duckdb_type.lower()]


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


class Rows:
    """What `SparkConnection.execute` returns: its rows, already collected."""

    def __init__(self, rows: list[tuple]):
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return self.rows


class Relation:
    """A query's result, for `SparkConnection.sql(...).to_parquet(path)`."""

    def __init__(self, frame: Any):
        self.frame = frame

    def to_parquet(self, path: str, compression: str = "zstd") -> None:
        write_parquet_file(self.frame, Path(path), compression)


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


class SparkConnection:
    """The subset of a DuckDB connection the steps and checks use, on a Spark session of its own
    (temporary views are per session, as DuckDB's are per connection)."""

    def __init__(
        self,
        spark: Any,
        variables: dict[str, str],
        hmac_pads: tuple[bytes, bytes] | None,
        erased: Sequence[tuple[str, str]],
    ):
        self.spark = spark.newSession()
        self.variables, self.hmac_pads = dict(variables), hmac_pads
        self.erased = [(kind, sha) for kind, sha in erased]
        self.declared: dict[str, str] = {}  # temp table -> Spark DDL schema
        self._views = itertools.count()

    # --- the DuckDB connection API ---------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Rows:
        statement = sql.strip().rstrip(";").strip()
        if m := _DECLARE.match(statement):
            self._declare(m[1], m[2])
            return Rows([])
        if m := _CREATE_AS.match(statement):
            self.frame(m[2], params).createOrReplaceTempView(m[1])
            return Rows([])
        if m := _DESCRIBE.match(statement):
            dtypes = self._run(lambda: self.spark.table(m[1]).dtypes, statement)
            return Rows([(c, DUCKDB_TYPES.get(t, t.upper())) for c, t in dtypes])
        if m := _DROP.match(statement):
            self.spark.catalog.dropTempView(m[1])
            return Rows([])
        frame = self.frame(statement, params)
        return Rows([tuple(row) for row in self._run(frame.collect, statement)])

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        m = _INSERT.match(sql.strip())
        if not m or m[1] not in self.declared:
            raise LakehouseError(f"the Spark engine cannot run {sql!r}")
        frame = self.spark.createDataFrame([tuple(r) for r in rows], self.declared[m[1]])
        frame.createOrReplaceTempView(m[1])

    def sql(self, sql: str) -> Relation:
        return Relation(self.frame(sql))

    def close(self) -> None:
        for table in self.spark.catalog.listTables():
            if table.isTemporary:
                self.spark.catalog.dropTempView(table.name)

    # --- Spark -----------------------------------------------------------------------------

    def frame(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The DataFrame of a query in the project's DuckDB SQL."""
        return self.spark_sql(self.translate(sql), params)

    def spark_sql(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The DataFrame of a query in Spark SQL (for the few that are Spark's own)."""
        return self._run(lambda: self.spark.sql(sql, args=list(params or []) or None), sql)

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

    def _declare(self, name: str, columns: str) -> None:
        schema = ", ".join(
            f"`{c}` {spark_type(t)}"
            for c, t in (col.split() for col in columns.split(","))  # "name type" pairs
        )
        self.declared[name] = schema
        self.spark.createDataFrame([], schema).createOrReplaceTempView(name)

    # --- rewriting DuckDB-only functions ---------------------------------------------------

    def _rewrite(self, node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.ReadParquet):
            return self._parquet_view(node)
        name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
        args = node.expressions if name else []
        if name == "getvariable":
            variable = args[0].name
            if variable not in self.variables:
                raise LakehouseError(f"getvariable('{variable}'): no such setting")
            return exp.Literal.string(self.variables[variable])
        if name == "pseudonym":
            return self._pseudonym(args[0])
        if name == "erased":
            return self._erased(args[0].name, args[1])
        if name == "erased_words":
            return self._erased_words(args[0])
        return node

    def _pseudonym(self, value: exp.Expression) -> exp.Expression:
        if self.hmac_pads is None:
            raise LakehouseError("pseudonym(): no pseudonym key")
        inner, outer = (pad.hex() for pad in self.hmac_pads)
        template = (
            f"left(sha2(concat(unhex('{outer}'), unhex(sha2(concat(unhex('{inner}'), "
            "encode(__value, 'UTF-8')), 256))), 256), 32)"
        )
        return _substitute(template, value)

    def _erased(self, kind: str, value: exp.Expression) -> exp.Expression:
        return _substitute(self.erased_sql(kind, "__value"), value)

    def _erased_words(self, text: exp.Expression) -> exp.Expression:
        return _substitute(self.erased_words_sql("__value"), text)

    def erased_sql(self, kind: str, value: str) -> str:
        """Spark SQL: whether `value` (an email or serial) is on the erasure list as `kind`."""
        hashes = [sha for k, sha in self.erased if k == kind]
        if not hashes:
            return "false"
        listed = ", ".join(f"'{h}'" for h in hashes)
        return f"coalesce(sha2(lower(trim({value})), 256) in ({listed}), false)"

    def erased_words_sql(self, text: str) -> str:
        """Spark SQL: whether any word of `text` is on the erasure list (for lines that are not
        JSON objects)."""
        if not self.erased:
            return "false"
        listed = ", ".join(f"'{sha}'" for _, sha in self.erased)
        words = rf"""regexp_extract_all({text}, '([^\\s",:{{}}\\[\\]]+)', 1)"""
        return (
            f"coalesce(arrays_overlap(transform({words}, w -> sha2(lower(w), 256)), "
            f"array({listed})), false)"
        )

    def _parquet_view(self, node: exp.Table) -> exp.Expression:
        first, *options = node.this.expressions
        listed = first.expressions if isinstance(first, exp.Array) else [first]
        paths = [e.name for e in listed]
        with_filename = any(
            isinstance(o, exp.EQ) and o.this.name.lower() == "filename" and o.expression.this
            for o in options
        )
        frame = self._run(lambda: self.spark.read.parquet(*paths), f"read_parquet({paths})")
        if with_filename:
            from pyspark.sql import functions as F

            path = F.regexp_replace(F.col("_metadata.file_path"), "^file:(//)?", "")
            frame = frame.withColumn("filename", path)
        view = f"parquet_{next(self._views)}"
        frame.createOrReplaceTempView(view)
        table = exp.to_table(view)
        if node.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(node.alias)))
        return table

    def _spell_out_star(self, select: exp.Expression) -> None:
        """Replace `select *` from one table by its columns (for QUALIFY's rewrite)."""
        if not isinstance(select, exp.Select) or not select.is_star:
            return
        tables = list(select.find_all(exp.Table))
        columns = self._run(lambda: self.spark.table(tables[0].name).columns, select.sql())
        select.set("expressions", [exp.column(c, quoted=True) for c in columns])


def _substitute(template: str, value: exp.Expression) -> exp.Expression:
    """Parse a Spark SQL expression and put `value` where it says `__value`."""
    tree = sqlglot.parse_one(template, read="spark")
    return tree.transform(
        lambda n: value.copy() if isinstance(n, exp.Column) and n.name == "__value" else n
    )
