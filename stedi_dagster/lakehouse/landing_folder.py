"""The landing root: one folder per dataset, `<landing_root>/<dataset>/landing/`, on local disk or
S3, holding newline-delimited JSON files.

What counts as a landing file: a file directly in the folder named `*.json`, `*.jsonl` or
`*.ndjson`, plain or compressed with gzip (`.gz`) or zstd (`.zst`), e.g. `readings.json.gz`.
What is ignored: anything whose name, or the name of a folder on its way, starts with `.` or `_`
(`.DS_Store`, `_SUCCESS`, Hadoop's `.part-0.crc`, `_temporary/`). Everything else under the
folder (a `.csv`, a `.parquet`, a file in a subfolder) is unrecognized: never read, but named in
the run log and by the dataset's `no_unrecognized_files` check, and seen by the sensors.
"""

import gzip
import shutil
from pathlib import Path, PurePosixPath

import zstandard

from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.storage import Storage

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}


def compression(name: str) -> str | None:
    """The compression a landing file's name says (gzip, zstd), or None for plain text."""
    return COMPRESSIONS.get(PurePosixPath(name).suffix)


def is_landing_file(name: str) -> bool:
    """Whether a file's name (not an ignored one) is a landing file's (string tests: a folder of
    thousands of files is split in milliseconds)."""
    for suffix in COMPRESSIONS:
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    return name.endswith(JSON_SUFFIXES)


def is_ignored(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def decompressed(path: str, out: Path) -> str:
    """A local plain-text copy of a local landing file: `path` itself, or for a compressed
    file its text written to `out` (streamed)."""
    kind = compression(path)
    if kind is None:
        return path
    opener = gzip.open if kind == "gzip" else zstandard.open
    try:
        with opener(path, "rb") as source, open(out, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    except (OSError, EOFError, zstandard.ZstdError) as e:
        raise LakehouseError(
            f"landing file {PurePosixPath(path).name} is not valid {kind} data: {e}"
        ) from e
    return str(out)


class LandingFolder:
    """The landing root's dataset folders; `listed` keeps a dataset's listing as it was taken."""

    def __init__(self, storage: Storage, listings: dict[str, dict[str, str]] | None = None):
        self.storage = storage
        self._listings = listings or {}
        self._splits: dict[str, tuple[dict[str, str], list[str]]] = {}  # of the kept listings

    def folder(self, dataset: str) -> str:
        return self.storage.url(dataset, "landing")

    def listed(self, dataset: str) -> "LandingFolder":
        """This landing root with the dataset's folder listed now, once: what a landing step's
        checks see of it is what its plan read (files arriving meanwhile are the next run's)."""
        return LandingFolder(self.storage, self._listings | {dataset: self.listing(dataset)})

    def listing(self, dataset: str) -> dict[str, str]:
        """Every file under the dataset's folder that is not ignored, landing or not, with its
        version token (what the sensors watch); the one kept by `listed`, if it was."""
        if dataset in self._listings:
            return self._listings[dataset]
        self.storage.check()
        folder = self.folder(dataset)
        found = self.storage.versions(f"{folder}/**")
        return {u: v for u, v in found.items() if not is_ignored(u[len(folder) + 1 :])}

    def contents(self, dataset: str) -> tuple[dict[str, str], list[str]]:
        """One listing, split: the dataset's landing files with a version token each (see
        Storage.versions; an error naming the folder if there is none), and the unrecognized
        files by their path inside the folder."""
        landing, others = self._split(dataset)
        if not landing:
            found = f" (found only {', '.join(others[:5])})" if others else ""
            raise LakehouseError(
                f"no landing files for {dataset}: no *.json in {self.folder(dataset)} (nor "
                f"*.jsonl, *.ndjson, any of them .gz or .zst){found}"
            )
        return landing, others

    def versions(self, dataset: str) -> dict[str, str]:
        """The dataset's landing files with a version token each (see `contents`)."""
        return self.contents(dataset)[0]

    def unrecognized(self, dataset: str) -> list[str]:
        """The files under the dataset's folder that are neither landing files nor ignored, by
        their path inside the folder."""
        return self._split(dataset)[1]

    def files(self, dataset: str) -> list[str]:
        """The dataset's landing files, sorted."""
        return sorted(self.versions(dataset))

    def _split(self, dataset: str) -> tuple[dict[str, str], list[str]]:
        if dataset not in self._listings:  # listed again each time
            return self.split(dataset, self.listing(dataset))
        if dataset not in self._splits:  # split once (a plan and the checks ask for it)
            self._splits[dataset] = self.split(dataset, self._listings[dataset])
        return self._splits[dataset]

    def split(self, dataset: str, listing: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        """A listing of the dataset's folder (see `listing`) split into its landing files (url ->
        version) and the unrecognized files (their paths inside the folder)."""
        folder = self.folder(dataset)
        landing, others = {}, []
        for url, version in listing.items():
            relative = url[len(folder) + 1 :]
            if "/" not in relative and is_landing_file(relative):
                landing[url] = version
            else:
                others.append(relative)
        return landing, sorted(others)
