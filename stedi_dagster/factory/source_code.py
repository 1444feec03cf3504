"""Links from each asset page to the code that computes it ("View source" in the UI): the
`dagster/code_references` metadata, pointing at local files, and turned into links to the hosted
repository by Dagster's `link_code_references_to_git` when the project is a git checkout with a
GitHub or GitLab remote."""

import re
import subprocess
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import dagster as dg

from stedi_dagster.lakehouse import PROJECT_ROOT


@contextmanager
def _beta_accepted() -> Iterator[None]:
    """Dagster marks code references beta; "View source" is what they are for."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


def code_references(name: str, files: Sequence[str]) -> dg.CodeReferencesMetadataValue:
    """References to the local files that compute table `name`: each at the line that names the
    table, if one does (an asset's definition), else at its top (an SQL file, a module of its
    own). Files that do not exist (an asset a test builds from a module it wrote) are left out.
    `linked_to_git` turns them into links into the hosted repository."""
    references = []
    with _beta_accepted():
        for path in (Path(f).resolve() for f in files):
            if not path.is_file():
                continue
            lines = path.read_text().splitlines()
            line = next((i for i, text in enumerate(lines, 1) if f'"{name}"' in text), 1)
            label = f"SQL: {path.name}" if path.suffix == ".sql" else f"Python: {path.name}"
            references.append(
                dg.LocalFileCodeReference(file_path=str(path), line_number=line, label=label)
            )
        return dg.CodeReferencesMetadataValue(code_references=references)


def linked_to_git(
    assets: Sequence[dg.AssetsDefinition], root: Path = PROJECT_ROOT
) -> Sequence[dg.AssetsDefinition]:
    """The assets with their local code references turned into links into the hosted repository
    at the current branch (Dagster's `link_code_references_to_git`), when `root` is a checkout
    whose `origin` remote is on GitHub or GitLab; else as they are."""
    remote = hosted_remote(root)
    if remote is None:
        return assets
    url, branch = remote
    with _beta_accepted():
        return dg.link_code_references_to_git(
            assets,
            git_url=url,
            git_branch=branch,
            # the checkout's root is the repository's
            file_path_mapping=dg.AnchorBasedFilePathMapping(
                local_file_anchor=root.resolve(), file_anchor_path_in_repository=""
            ),
        )


def hosted_repository(url: str) -> str | None:
    """The web address of a git remote (https or ssh), or None for a local or unknown one."""
    url = url.strip().removesuffix(".git")
    if m := re.fullmatch(r"https?://(?:[^@/]+@)?([^/]+)/(.+)", url):
        return f"https://{m[1]}/{m[2]}"
    if m := re.fullmatch(r"(?:ssh://)?[\w.-]+@([^:/]+)[:/](.+)", url):
        return f"https://{m[1]}/{m[2]}"
    return None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@cache
def hosted_remote(root: Path) -> tuple[str, str] | None:
    """(web address, current branch) of the checkout's `origin` remote when it is hosted on
    GitHub or GitLab (the platforms Dagster links to); else None."""
    remote, branch = (
        _git(root, "remote", "get-url", "origin"),
        _git(root, "branch", "--show-current"),
    )
    base = hosted_repository(remote or "")
    if base is None or not branch or not ("github" in base or "gitlab" in base):
        return None
    return base, branch
