"""Source links ("View source" on an asset page): the files that compute a table, as links into
the hosted repository when the checkout has a hosted `origin` remote, else as local files."""

import subprocess
from pathlib import Path

import dagster as dg
import pytest

from stedi_dagster.assets.source_code import code_references, hosted_repository


@pytest.mark.parametrize(
    ("remote", "address"),
    [
        ("https://github.com/acme/stedi-dagster.git", "https://github.com/acme/stedi-dagster"),
        ("git@github.com:acme/stedi-dagster.git", "https://github.com/acme/stedi-dagster"),
        ("ssh://git@gitlab.com/acme/stedi.git", "https://gitlab.com/acme/stedi"),
        ("/work/main", None),
        ("file:///work/main", None),
    ],
)
def test_remotes_become_web_addresses(remote, address):
    assert hosted_repository(remote) == address


def checkout(root: Path, remote: str | None) -> list[str]:
    """A git checkout at `root` with an asset module and its SQL file; their paths."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    if remote:
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin", remote], check=True)
    sql = root / "defs" / "trusted" / "sql" / "customer_trusted.sql"
    sql.parent.mkdir(parents=True)
    sql.write_text("select 1\n")
    module = root / "defs" / "trusted" / "assets.py"
    module.write_text(
        '"""Trusted."""\n\ncustomer_trusted = table_asset(\n    "customer_trusted",\n'
    )
    return [str(sql), str(module)]


def test_a_hosted_checkout_links_each_file_at_its_line(tmp_path):
    files = checkout(tmp_path, "git@gitlab.com:acme/stedi-dagster.git")
    references = code_references("customer_trusted", files, root=tmp_path).code_references
    base = "https://gitlab.com/acme/stedi-dagster/-/blob/main/defs/trusted"
    assert [(type(r), r.url, r.label) for r in references] == [
        (dg.UrlCodeReference, f"{base}/sql/customer_trusted.sql#L1", "SQL: customer_trusted.sql"),
        (dg.UrlCodeReference, f"{base}/assets.py#L4", "Python: assets.py"),
    ]


def test_without_a_hosted_remote_references_stay_local(tmp_path):
    files = checkout(tmp_path, None)
    references = code_references("customer_trusted", files, root=tmp_path).code_references
    assert [(type(r), r.file_path, r.line_number) for r in references] == [
        (dg.LocalFileCodeReference, files[0], 1),
        (dg.LocalFileCodeReference, files[1], 4),
    ]
