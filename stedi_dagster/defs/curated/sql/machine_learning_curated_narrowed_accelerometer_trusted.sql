-- machine_learning_curated_narrowed_accelerometer_trusted: the accelerometer_trusted readings that can be in the pairs of the subjects in recomputed_keys: theirs, and those at the milliseconds of the step readings that can (narrowed_step_trainer_trusted)
with keyed as (  -- the persons of the keys: as the change found them, else by their pseudonyms
    select person as email from recomputed_keys where person is not null
    union
    select person_key(email)
    from customer_curated
    where pseudonym(email) in (select key from recomputed_keys where person is null)
),
users as (  -- each distinct user keyed once, not each reading
    select user
    from (select distinct user from accelerometer_trusted)
    where person_key(user) in (select email from keyed)
)
select *
from accelerometer_trusted
where user in (select user from users)
   or timestamp in (select sensorReadingTime from narrowed_step_trainer_trusted)
