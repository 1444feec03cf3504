"""The privacy records of a lakehouse, under `<lakehouse_root>/_privacy/`: the erasure list (the
customers every later run keeps out, as SHA-256 hashes of the person key of their email or
Step Trainer serial, never the value) and the audit trail of erasures; and which pseudonym key
applies.
"""

import json
from typing import TYPE_CHECKING

from stedi_dagster.errors import LakehouseError

if TYPE_CHECKING:  # imported by the lakehouse package, whose resource imports this module
    from stedi_dagster.lakehouse.storage import Storage

PRIVACY_FOLDER = "_privacy"
ERASURE_LIST = "erasure_list.jsonl"
ERASURE_AUDIT = "erasure_audit.jsonl"
# Used for pseudonyms when no key is set and the lakehouse is on local disk; never in production.
DEVELOPMENT_PSEUDONYM_KEY = b"stedi-local-development-key"


class PrivacyRecords:
    def __init__(self, zones: "Storage", pseudonym_key: str | None):
        self.zones, self.pseudonym_key = zones, pseudonym_key

    def erasure_keys(self) -> list[tuple[str, str]]:
        """The erasure list as (kind, sha256) pairs: kind "email" or "serial"."""
        return [(e["kind"], e["sha256"]) for e in self.read_log(ERASURE_LIST)]

    def read_log(self, name: str) -> list[dict]:
        """The entries of `<lakehouse_root>/_privacy/<name>` (JSON lines), oldest first."""
        url = self.zones.url(PRIVACY_FOLDER, name)
        if not self.zones.exists(url):
            return []
        with self.zones.open(url) as f:
            return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]

    def append_log(self, name: str, entries: list[dict]) -> None:
        """Add entries to a privacy log, replacing the file in one step."""
        lines = [*self.read_log(name), *entries]
        data = "".join(json.dumps(e, sort_keys=True) + "\n" for e in lines).encode()
        self.zones.write(self.zones.url(PRIVACY_FOLDER, name), data)

    def pseudonym_secret(self) -> bytes | None:
        """The pseudonym key; the documented development key for a lakehouse on local disk."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        return None if self.zones.remote else DEVELOPMENT_PSEUDONYM_KEY

    def require_pseudonym_key(self) -> str:
        """Where the pseudonym key comes from; a clear error when it is missing on S3."""
        if self.pseudonym_secret() is None:
            raise LakehouseError(
                "STEDI_PSEUDONYM_KEY is not set: machine_learning_curated needs a secret key for "
                f"its pseudonymous subject ids when the lakehouse is at {self.zones.root}. "
                "Set it to a long random string and keep it stable (changing it changes every id)."
            )
        return "STEDI_PSEUDONYM_KEY" if self.pseudonym_key else "development key (local only)"
