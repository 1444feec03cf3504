"""Source links ("View source" on an asset page): the files that compute a table, as links into
the hosted repository when the checkout's `origin` remote is on GitHub or GitLab, else as local
files."""

import subprocess
from pathlib import Path

import dagster as dg
import pytest

from stedi_dagster.factory.source_code import code_references, hosted_repository, linked_to_git


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


def asset_of(root: Path, files: list[str]) -> dg.AssetsDefinition:
    """An asset whose code references are these files, linked as the table factory links them."""

    @dg.asset(
        name="customer_trusted",
        metadata={"dagster/code_references": code_references("customer_trusted", files)},
    )
    def _asset() -> None: ...

    return linked_to_git([_asset], root=root)[0]


def references_of(asset: dg.AssetsDefinition) -> list:
    return (
        asset.specs_by_key[dg.AssetKey("customer_trusted")]
        .metadata["dagster/code_references"]
        .code_references
    )


@pytest.mark.parametrize(
    ("remote", "base"),
    [
        ("git@gitlab.com:acme/stedi-dagster.git", "https://gitlab.com/acme/stedi-dagster/-/tree"),
        ("https://github.com/acme/stedi-dagster.git", "https://github.com/acme/stedi-dagster/tree"),
    ],
)
def test_a_hosted_checkout_links_each_file_at_its_line(tmp_path, remote, base):
    files = checkout(tmp_path, remote)
    references = references_of(asset_of(tmp_path, files))
    folder = f"{base}/main/defs/trusted"
    assert [(type(r), r.url, r.label) for r in references] == [
        (dg.UrlCodeReference, f"{folder}/sql/customer_trusted.sql#L1", "SQL: customer_trusted.sql"),
        (dg.UrlCodeReference, f"{folder}/assets.py#L4", "Python: assets.py"),
    ]


@pytest.mark.parametrize("remote", [None, "git@git.example.com:acme/stedi.git"])
def test_without_a_github_or_gitlab_remote_references_stay_local(tmp_path, remote):
    files = checkout(tmp_path, remote)
    references = references_of(asset_of(tmp_path, files))
    assert [(type(r), r.file_path, r.line_number) for r in references] == [
        (dg.LocalFileCodeReference, str(Path(files[0]).resolve()), 1),
        (dg.LocalFileCodeReference, str(Path(files[1]).resolve()), 4),
    ]
