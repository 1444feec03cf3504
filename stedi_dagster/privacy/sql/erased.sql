-- erased: whether a value (an email, or a Step Trainer serial) is on the erasure list, compared as the SHA-256 of its person_key (privacy/identity.py); {{kinds}}: the kinds the list holds, so that for a kind it holds none of (most runs) the macro folds to false and no row's key is hashed
create or replace temp macro erased(kind_name, value) as
    case
        when kind_name in ({{kinds}}) then
            coalesce(sha256(person_key(value)) in (select sha256 from erased_keys where kind = kind_name), false)
        else false
    end
