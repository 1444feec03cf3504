"""The one SQL toolkit: SQL kept in `sql/<name>.sql` beside the module that runs it, and quoting.

Two kinds of placeholder, never confused:
- `{{name}}` is a fragment: SQL text (identifiers, generated expressions) that `read_sql(module,
  name, **fragments)` puts in. The file's fragments and those given must be the same names, so a
  misspelled one fails when the SQL is read, naming the file;
- `$name` is a DuckDB parameter, bound at execution (`con.execute(sql, {"name": value})`). A
  dollar sign in a string (a JSON path, `'$.email'`) is just that.
"""

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

# A fragment placeholder in an SQL file: `{{name}}`.
FRAGMENT = re.compile(r"\{\{(\w+)\}\}")


def ident(name: str, quote: str = '"') -> str:
    """An identifier quoted for SQL: `"name"` for DuckDB, or with quote="`" for Spark SQL."""
    return quote + name.replace(quote, quote * 2) + quote


def words(sql: str) -> set[str]:
    """The words of an SQL text but its opening comment (which says in words what it computes,
    naming tables it does not read): every relation it reads among them."""
    body = re.sub(r"\A(\s*--[^\n]*(\n|\Z))+", "", sql)
    return set(re.findall(r"[\w$]+", body))


def literal(text: str) -> str:
    """A string as an SQL string literal (for statements that cannot take parameters)."""
    return "'" + text.replace("'", "''") + "'"


def listed(column: str, values: Iterable[str]) -> str:
    """SQL: whether `column` holds one of these strings, listed as literals (a filter DuckDB
    pushes into a Parquet scan, whose statistics and Bloom filters then skip row groups);
    "false" for none."""
    items = ", ".join(literal(v) for v in values)
    return f"{ident(column)} in ({items})" if items else "false"


def any_of(conditions: Iterable[str]) -> str:
    """SQL: whether any of the conditions is true (false for none; one alone as it is)."""
    listed = list(conditions)
    if len(listed) == 1:
        return listed[0]
    return " or ".join(f"({c})" for c in listed) or "false"


def json_path(key: str) -> str:
    """The JSON path of a top-level key (`$."key"`), for json_extract and its kin."""
    return "$." + json.dumps(key)


def select_columns(
    columns: dict[str, str],
    present: Iterable[str],
    relation: str = "",
    hidden: Iterable[str] = (),
) -> str:
    """SQL select list of `columns` (name -> type) in their order, then any other column of
    `relation` (appended as `from <relation>`), whose columns are `present`, but the `hidden`
    ones: a column it lacks (its data files were written before the column was added) is a
    typed null, and one it has beyond `columns` stays visible (to the schema check)."""
    others = [c for c in present if c not in columns and c not in set(hidden)]
    listed = ", ".join(
        [
            ident(c) if c in present else f"cast(null as {t}) as {ident(c)}"
            for c, t in columns.items()
        ]
        + [ident(c) for c in others]
    )
    return f"{listed} from {relation}" if relation else listed


def read_sql(module_file: str, name: str, **fragments: str) -> str:
    """The statement in `sql/<name>.sql` beside `module_file`, with `fragments` put in."""
    return read_sql_file(Path(module_file).parent / "sql" / f"{name}.sql", **fragments)


def read_sql_file(path: Path, **fragments: str) -> str:
    """The statement in the SQL file at `path`, with its `{{name}}` fragments put in."""
    text = _text(path)
    wanted = set(FRAGMENT.findall(text))
    if wanted != set(fragments):
        raise ValueError(
            f"{path}: its fragments are {sorted(wanted) or 'none'}, "
            f"but {sorted(fragments) or 'none'} were given"
        )
    return FRAGMENT.sub(lambda m: fragments[m[1]], text) if wanted else text


@cache
def _text(path: Path) -> str:
    return path.read_text().strip().rstrip(";")
