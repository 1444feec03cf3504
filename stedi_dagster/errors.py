"""The error types for problems with the lakehouse's inputs, storage or layout."""


class LakehouseError(Exception):
    """Phrased for the user: names the file, table or location, and what to check."""


class StaleVersion(LakehouseError):
    """A commit that adds to a version of a table was refused: another writer (a run at the same
    time) committed a newer version since, which the commit's changes were not computed on."""
