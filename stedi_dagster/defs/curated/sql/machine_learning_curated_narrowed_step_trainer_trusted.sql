-- machine_learning_curated_narrowed_step_trainer_trusted: the step_trainer_trusted readings that can be in the pairs of the subjects in recomputed_keys: those of the serials they own, and those at the milliseconds of their accelerometer readings (their spellings looked up in the tables' own: privacy/spellings.py)
with keyed as (  -- the persons of the keys: as the change found them, else by their pseudonyms
    select person as email from recomputed_keys where person is not null
    union
    select person_key(email)
    from customer_curated
    where pseudonym(email) in (select key from recomputed_keys where person is null)
),
owned as (  -- the serials whose owner (sql/curated_owners.sql: the least email key of those who claimed it) is one of them, from the claims of their serials alone (at x1000 the owners of every serial took 0.13 s)
    select serialNumber
    from curated_keys
    where serialNumber in (
        select serialNumber from curated_keys where email in (select email from keyed)
    )
    group by 1
    having min(email) in (select email from keyed)
),
users as (
    select spelling as user from accelerometer_trusted_spellings
    where person in (select email from keyed)
),
serials as (
    select spelling as serialNumber from step_trainer_trusted_spellings
    where person in (select serialNumber from owned)
)
select *  -- two scans, each filtered on one column (one filter of both scans every row)
from step_trainer_trusted
where serialNumber in (select serialNumber from serials)
union all
select *
from step_trainer_trusted
where sensorReadingTime in (
        select timestamp from accelerometer_trusted where user in (select user from users)
    )
  and serialNumber not in (select serialNumber from serials)
