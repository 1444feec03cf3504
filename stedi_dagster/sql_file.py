"""Load the SQL statement kept in `sql/<name>.sql` beside a module."""

from functools import cache
from pathlib import Path


def sql_literal(text: str) -> str:
    """A string as an SQL string literal (for statements that cannot take parameters)."""
    return "'" + text.replace("'", "''") + "'"


@cache
def read_sql(module_file: str, name: str) -> str:
    path = Path(module_file).parent / "sql" / f"{name}.sql"
    return path.read_text().strip().rstrip(";")
