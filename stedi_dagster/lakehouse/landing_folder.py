"""The landing root: one folder of newline-delimited JSON files per dataset,
`<landing_root>/<dataset>/landing/`, on local disk or S3."""

from stedi_dagster.errors import LakehouseError
from stedi_dagster.lakehouse.storage import Storage


class LandingFolder:
    def __init__(self, storage: Storage):
        self.storage = storage

    def folder(self, dataset: str) -> str:
        return self.storage.url(dataset, "landing")

    def versions(self, dataset: str) -> dict[str, str]:
        """The dataset's landing JSON files with a version token each (see Storage.versions);
        an error naming the folder if there is none."""
        self.storage.check()
        folder = self.folder(dataset)
        files = self.storage.versions(f"{folder}/*.json")
        if not files:
            raise LakehouseError(f"no landing files for {dataset}: no *.json in {folder}")
        return files

    def files(self, dataset: str) -> list[str]:
        """The dataset's landing JSON files, sorted."""
        return sorted(self.versions(dataset))
