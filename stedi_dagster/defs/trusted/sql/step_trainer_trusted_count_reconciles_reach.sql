-- step_trainer_trusted_count_reconciles_reach: the serials and emails whose count a change may have changed: every spelling (privacy/spellings.py) of the serials of the changed landing readings, customer_curated rows and customer records, and of those claimed by the persons of the changed records; and every spelling of those who claim any of them (the count is a sum over serials: their readings, by their claimants' consent alone)
with serials as (
    select person_key(serialNumber) as serial
    from (select distinct serialNumber from changed_step_trainer_landing)
    union
    select person_key(serialNumber) from changed_customer_curated
    union
    select person_key(serialNumber) from changed_customer_landing
    union
    select serialNumber  -- serial_claims: privacy/sql/serial_claims.sql
    from serial_claims
    where email in (select person_key(email) from changed_customer_landing)
),
claimants as (
    select email as person from serial_claims where serialNumber in (select serial from serials)
    union
    select person_key(email) from changed_customer_landing
)
select spelling as value
from step_trainer_landing_spellings
where person in (select serial from serials)
union
select spelling from customer_landing_spellings where person in (select person from claimants)
union
select spelling
from customer_curated_serial_spellings
where person in (select serial from serials)
union
select serialNumber from changed_step_trainer_landing
union
select serialNumber from changed_customer_curated
union
select email from changed_customer_landing
