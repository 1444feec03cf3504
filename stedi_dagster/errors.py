"""The one error type for problems with the lakehouse's inputs, storage or layout."""


class LakehouseError(Exception):
    """Phrased for the user: names the file, table or location, and what to check."""
