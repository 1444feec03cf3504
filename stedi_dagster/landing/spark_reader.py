"""Landing files read by Spark: the same rows, quarantined lines and file records as
`duckdb_reader.py`, with the new files read and classified by Spark SQL
(`sql/spark_classify_lines.sql`).

Spark reads each new file whole (`binaryFile`), numbers its lines, parses each with
`try_parse_json` and types its fields with `try_variant_get`, in one pass that is staged as
Parquet; the landing and quarantine data files (rows with their source file), the counts per file
and the lines to name in the log are then read from that. Planning, hashing and line counting,
duplicates, the file records and commits are the pipeline's (`pipeline.py`).
"""

from dataclasses import replace
from pathlib import Path

from stedi_dagster.engines.spark_engine import (
    SparkEngine,
    spark_errors,
    spark_person_key,
    spark_type,
)
from stedi_dagster.landing.reading import (
    BAD,
    GOOD,
    LOGGED_LINES,
    Ingested,
    NewFiles,
    Read,
    document_reason,
    line_problems,
)
from stedi_dagster.landing.scan import non_blank_lines
from stedi_dagster.privacy.identity import PERSON_KEYS
from stedi_dagster.sql import ident, read_sql
from stedi_dagster.tables import EXTRA_COLUMN, SOURCE_COLUMN, Table, quarantine_table


def classify_sql(engine: SparkEngine, table: Table, whole_files: list[int]) -> str:
    """Spark SQL over view landing_files: every line classified (see the SQL file)."""

    def present(c: str) -> str:
        value = f"variant_get(v, '$.{c}')"
        return f"({value} is not null and not is_variant_null({value}))"

    problems = line_problems(
        table,
        mistyped=lambda c: f"malformed is null and {ident(c, '`')} is null and {present(c)}",
        missing=lambda k: f"malformed is null and not {present(k)}",
        blank=lambda k: f"malformed is null and {spark_person_key(ident(k, '`'))} = ''",
    )
    key, kind = PERSON_KEYS[table.dataset]
    return read_sql(
        __file__,
        "spark_classify_lines",
        typed=", ".join(f"{typed(c, t)} as {ident(c, '`')}" for c, t in table.fields.items()),
        columns=", ".join(ident(c, "`") for c in table.fields),
        extra=ident(EXTRA_COLUMN, "`"),
        problems=problems,
        erased_key=engine.erased_sql(kind, f"try_variant_get(v, '$.{key}', 'string')"),
        erased_words=engine.erased_words_sql("raw"),
        known=", ".join(f"'{c}'" for c in table.fields),
        # files whose every line is quarantined keep the text of every line
        whole_file=f"file_no in ({', '.join(map(str, whole_files))})" if whole_files else "false",
    )


def typed(column: str, duckdb_type: str) -> str:
    """Spark SQL: the field's value as the column's type, null if it is not one, converted as
    DuckDB's JSON reader converts it (Spark's own date cast refuses years of fewer than four
    digits, such as the course data's "993-01-01", which DuckDB reads)."""
    value = f"try_variant_get(v, '$.{column}', '{spark_type(duckdb_type)}')"
    if duckdb_type != "DATE":
        return value
    text = f"try_variant_get(v, '$.{column}', 'string')"
    iso = r"'^\\s*[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}\\s*$'"
    lenient = f"case when {text} rlike {iso} then try_to_date(trim({text}), 'y-M-d') end"
    return f"coalesce({value}, {lenient})"


class SparkReader:
    """Reads one dataset's new files into parts staged in `folder`, with Spark."""

    def __init__(self, engine: SparkEngine, landing: Table, folder: Path):
        self.engine, self.landing, self.folder = engine, landing, folder
        self.quarantine = quarantine_table(landing.dataset)

    @spark_errors("reading the new landing files")
    def read(self, files: NewFiles) -> Read:
        if not files.names:
            return Read([], {})
        con = self.engine
        numbers = {name: i for i, name in enumerate(files.names, 1)}
        documents = {numbers[n]: kind for n, kind in files.documents.items()}
        self._classify(files, numbers, list(documents))  # the scans of `files` run meanwhile
        bases, duplicates = {}, {}
        for base, duplicate_of in files.identified():
            bases[base.file] = base
            if duplicate_of:
                duplicates[base.file] = duplicate_of
        con.show_as(
            "landing_names",
            con.spark.createDataFrame(
                [
                    (numbers[n], n, duplicates.get(n), document_reason(documents[numbers[n]]))
                    if numbers[n] in documents
                    else (numbers[n], n, duplicates.get(n), None)
                    for n in files.names
                ],
                "file_no int, file string, duplicate_of string, document string",
            ),
        )
        # a duplicate file's lines are all quarantined as such, without their text; a JSON
        # document's lines all with the reason that says what the file is
        columns = ", ".join(f"c.{ident(c, '`')}" for c in self.landing.columns)
        outcome = con.spark_sql(
            f"select c.file_no, c.line, {columns}, c.unknown, "
            "coalesce('duplicate of ' || n.duplicate_of, n.document, c.reason) as reason, "
            "case when n.duplicate_of is null then c.record end as record, "
            "c.record_erased and n.duplicate_of is null as record_erased, n.file "
            "from classified c join landing_names n using (file_no)"
        )
        con.show_as("outcome", outcome)
        staged = {
            self.landing.name: self._write(
                outcome.where(GOOD).withColumnRenamed("file", SOURCE_COLUMN),
                list(self.landing.stored_columns),
                "landing",
            ),
            self.quarantine.name: self._write(
                outcome.where(BAD), list(self.quarantine.columns), "quarantine"
            ),
        }
        counts = {
            no: rest
            for no, *rest in con.spark_sql(
                f"select file_no, count_if({GOOD}), count_if({BAD}), count_if(record_erased) "
                "from outcome group by file_no"
            ).collect()
        }
        unknown: dict[int, dict[str, int]] = {}
        for no, field, n in con.spark_sql(
            "select file_no, field, count(*) from (select file_no, explode(unknown) as field "
            f"from outcome where {GOOD}) group by all order by all"
        ).collect():
            unknown.setdefault(no, {})[field] = n
        examples: dict[int, list[tuple[int, str]]] = {}
        for no, line, reason in con.spark_sql(
            "select file_no, line, reason from (select file_no, line, reason, row_number() over "
            f"(partition by file_no order by line) as n from outcome where {BAD}) "
            f"where n <= {LOGGED_LINES} order by file_no, line"
        ).collect():
            examples.setdefault(no, []).append((line, reason))
        done = []
        for name in files.names:
            no = numbers[name]
            rows, quarantined, erased = counts.get(no, (0, 0, 0))
            base = bases[name]
            lines = base.lines
            if rows + quarantined + erased != lines:  # blank lines are not counted
                lines = non_blank_lines(files.local[name])
            record = replace(
                base,
                lines=lines,
                rows=rows,
                quarantined=quarantined,
                erased=erased,
                duplicate_of=duplicates.get(name),
                unknown_fields=unknown.get(no, {}),
            )
            done.append(Ingested(record, examples.get(no, [])))
        return Read(done, staged)

    def _classify(self, files: NewFiles, numbers: dict[str, int], whole_files: list[int]) -> None:
        """Stage every line of the new files, classified, as Parquet; view `classified`."""
        con, spark, local = self.engine, self.engine.spark, files.local
        paths = [local[name] for name in files.names]
        con.show_as("landing_binary", spark.read.format("binaryFile").load(paths))
        con.show_as(
            "landing_numbers",
            spark.createDataFrame(
                [(Path(local[name]).name, no) for name, no in numbers.items()],
                "base string, file_no int",
            ),
        )
        landing_files = con.spark_sql(
            "select n.file_no, cast(b.content as string) as content, "
            "is_valid_utf8(cast(b.content as string)) as valid "
            "from landing_binary b join landing_numbers n "
            "on regexp_extract(b.path, '[^/]*$', 0) = n.base"
        )
        con.show_as("landing_files", landing_files)
        out = self.folder / "classified"
        con.spark_sql(classify_sql(con, self.landing, whole_files)).write.parquet(str(out))
        con.show_as("classified", spark.read.parquet(str(out)))

    def _write(self, frame, columns: list[str], label: str) -> list[Path]:
        """The frame's columns as staged Parquet files, rows in file and line order."""
        out = self.folder / f"{label}-data"
        frame.sortWithinPartitions("file_no", "line").select(*columns).write.parquet(str(out))
        return sorted(out.glob("part-*.parquet"))
