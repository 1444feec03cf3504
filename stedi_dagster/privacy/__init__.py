"""Privacy: who a landing record belongs to (`identity.py`), masking of what the lakehouse shows,
the training table's pseudonyms, and the removal of erased customers from every zone (the work
behind the `erase_customer` job). The erasure list itself is one of the lakehouse's records
(`lakehouse/privacy_records.py`)."""
