-- person_key: how a person's identifiers (an email, a Step Trainer serial) are compared everywhere, in consent, readings, pseudonyms and erasure: trimmed and lower-case (an expression of `value`, made a macro for DuckDB and inlined for Spark)
lower(trim(value))
