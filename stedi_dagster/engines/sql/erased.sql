-- erased: whether a value (an email, or a Step Trainer serial) is on the erasure list, compared as the SHA-256 of its person_key (privacy/identity.py)
create or replace temp macro erased(kind_name, value) as
    coalesce(sha256(person_key(value)) in (select sha256 from erased_keys where kind = kind_name), false)
