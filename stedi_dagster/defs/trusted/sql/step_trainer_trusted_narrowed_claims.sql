-- step_trainer_trusted_narrowed_claims: every spelling customer_landing has of the serials in recomputed_keys (privacy/spellings.py), which narrowed_customer_landing looks its records up by
select spelling
from customer_landing_serial_spellings
where person in (select person_key(key) from recomputed_keys)
