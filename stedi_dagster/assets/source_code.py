"""Links from each asset page to the code that computes it ("View source" in the UI): the
`dagster/code_references` metadata, pointing at local files, and turned into links to the hosted
repository when the project is a git checkout with such a remote."""

import re
import subprocess
import warnings
from collections.abc import Callable, Iterator, Sequence
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


def code_references(
    name: str, files: Sequence[str], root: Path = PROJECT_ROOT
) -> dg.CodeReferencesMetadataValue:
    """References to the files that compute table `name`: each at the line that names the table,
    if one does (an asset's definition), else at its top (an SQL file, a module of its own). A
    link into the hosted repository when `root` is a checkout with one (see `git_links`), else
    the local file. Files that do not exist (an asset a test builds from a module it wrote) are
    left out."""
    link = git_links(root)
    references = []
    with _beta_accepted():
        for path in (Path(f).resolve() for f in files):
            if not path.is_file():
                continue
            lines = path.read_text().splitlines()
            line = next((i for i, text in enumerate(lines, 1) if f'"{name}"' in text), 1)
            label = f"SQL: {path.name}" if path.suffix == ".sql" else f"Python: {path.name}"
            if link and path.is_relative_to(root.resolve()):
                references.append(dg.UrlCodeReference(url=link(path, line), label=label))
            else:
                references.append(
                    dg.LocalFileCodeReference(file_path=str(path), line_number=line, label=label)
                )
        return dg.CodeReferencesMetadataValue(code_references=references)


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
def git_links(root: Path) -> Callable[[Path, int], str] | None:
    """A function from (local file, line) to its address in the checkout's hosted repository
    at the current branch; None when `root` has no hosted `origin` remote."""
    remote, branch = (
        _git(root, "remote", "get-url", "origin"),
        _git(root, "branch", "--show-current"),
    )
    base = hosted_repository(remote or "")
    if base is None or not branch:
        return None
    blob = "/-/blob" if "gitlab" in base else "/blob"

    def link(file: Path, line: int) -> str:
        relative = file.relative_to(root.resolve()).as_posix()
        return f"{base}{blob}/{branch}/{relative}#L{line}"

    return link
