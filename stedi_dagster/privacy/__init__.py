"""Privacy, in one place (docs/privacy.md walks it):

- `identity.py`: the person key (who a landing record belongs to, how a person is identified);
- `consent.py`: consent to research as the checks prove it, from landing alone;
- `pseudonyms.py`, `macros.py`: the training table's pseudonyms, and the SQL macros of the key,
  the pseudonyms and the erasure list;
- `masking.py`: the personal columns, masked in everything the lakehouse shows;
- `records.py`: the erasure list, the audit trail and which pseudonym key applies;
- `erasure.py`: the erasure algorithm (`erase`).
"""
