"""The one SQL toolkit: SQL kept in `sql/<name>.sql` beside the module that runs it, and quoting.

Placeholders have one style, `$name`. `read_sql(module, name, **fragments)` puts in the SQL
fragments it is given (identifiers, generated expressions); a `$name` it is not given is left for
DuckDB, which binds it as a named parameter at execution (`con.execute(sql, {"name": value})`).
A literal dollar sign is written `$$`.
"""

import json
from functools import cache
from pathlib import Path
from string import Template


def ident(name: str, quote: str = '"') -> str:
    """An identifier quoted for SQL: `"name"` for DuckDB, or with quote="`" for Spark SQL."""
    return quote + name.replace(quote, quote * 2) + quote


def literal(text: str) -> str:
    """A string as an SQL string literal (for statements that cannot take parameters)."""
    return "'" + text.replace("'", "''") + "'"


def json_path(key: str) -> str:
    """The JSON path of a top-level key (`$."key"`), for json_extract and its kin."""
    return "$." + json.dumps(key)


def read_sql(module_file: str, name: str, **fragments: str) -> str:
    """The statement in `sql/<name>.sql` beside `module_file`, with `fragments` put in."""
    text = _text(module_file, name)
    return Template(text).safe_substitute(fragments) if fragments or "$$" in text else text


@cache
def _text(module_file: str, name: str) -> str:
    path = Path(module_file).parent / "sql" / f"{name}.sql"
    return path.read_text().strip().rstrip(";")
