-- step_trainer_trusted_affected: the serials (every spelling in step_trainer_landing, as it is or in its changed rows) whose rows may change: those of changed landing readings, of changed customer_curated, customer_landing or customer_trusted rows, and every serial claimed by a landing record of a person whose customer_trusted row changed (serial_claims; their consent decides whether those claims are unconsented)
with serials as (
    select person_key(serialNumber) as serial
    from (select distinct serialNumber from changed_step_trainer_landing)
    union
    select person_key(serialNumber) from changed_customer_curated
    union
    select person_key(serialNumber) from changed_customer_landing
    union
    select person_key(serialNumber) from changed_customer_trusted
    union
    select serialNumber  -- serial_claims: privacy/sql/serial_claims.sql, kept (a lookup, not
    from serial_claims   -- every landing record keyed again: 0.2 s at x1000)
    where email in (select person_key(email) from changed_customer_trusted)
)
select spelling as serialNumber  -- privacy/sql/spellings.sql: kept per version of it
from step_trainer_landing_spellings
where person in (select serial from serials)
union
select distinct serialNumber from changed_step_trainer_landing
