-- step_trainer_trusted_narrowed_customer_curated: the curated customers whose serial is one in recomputed_keys (every spelling customer_curated has of them: privacy/spellings.py), the only ones their rows read
select *
from customer_curated
where serialNumber in (
    select spelling
    from customer_curated_serial_spellings
    where person in (select person_key(key) from recomputed_keys)
)
