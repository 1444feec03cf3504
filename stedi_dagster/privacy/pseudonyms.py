"""The pseudonymous subject ids of the training table, in Python: the same HMAC-SHA256 of the email
under the pseudonym key that the engines compute in SQL (`pseudonym(value)`), for tests, the
benchmark's peers and anyone who must recompute an id."""

import hashlib
import hmac

from stedi_dagster.privacy.identity import person_key
from stedi_dagster.privacy.records import DEVELOPMENT_PSEUDONYM_KEY

__all__ = ["DEVELOPMENT_PSEUDONYM_KEY", "pseudonym"]


def pseudonym(email: str, key: bytes = DEVELOPMENT_PSEUDONYM_KEY) -> str:
    """A subject id as the engines compute it: HMAC-SHA256 of the email's person key, first 32
    hex characters."""
    return hmac.new(key, person_key(email).encode(), hashlib.sha256).hexdigest()[:32]
