-- machine_learning_curated_narrowed_step_trainer_trusted: the step_trainer_trusted readings that can be in the pairs of the subjects in recomputed_keys: those of the serials they own, and those at the milliseconds of their accelerometer readings
with keyed as (  -- the persons of the keys: as the change found them, else by their pseudonyms
    select person as email from recomputed_keys where person is not null
    union
    select person_key(email)
    from customer_curated
    where pseudonym(email) in (select key from recomputed_keys where person is null)
),
owned as (
    select serialNumber
    from (
        select person_key(serialNumber) as serialNumber, min(person_key(email)) as email
        from customer_curated
        group by 1
    )
    where email in (select email from keyed)
),
users as (  -- each distinct user keyed once, not each reading
    select user
    from (select distinct user from accelerometer_trusted)
    where person_key(user) in (select email from keyed)
),
serials as (
    select serialNumber
    from (select distinct serialNumber from step_trainer_trusted)
    where person_key(serialNumber) in (select serialNumber from owned)
)
select *
from step_trainer_trusted
where serialNumber in (select serialNumber from serials)
   or sensorReadingTime in (
        select timestamp from accelerometer_trusted where user in (select user from users)
    )
