-- machine_learning_curated_narrowed_accelerometer_trusted: the accelerometer_trusted readings that can be in the pairs of the subjects in recomputed_keys: theirs, and those at the milliseconds of the step readings that can (narrowed_step_trainer_trusted; their spellings looked up in the table's own: privacy/spellings.py)
with keyed as (  -- the persons of the keys: as the change found them, else by their pseudonyms
    select person as email from recomputed_keys where person is not null
    union
    select person_key(email)
    from customer_curated
    where pseudonym(email) in (select key from recomputed_keys where person is null)
),
users as (
    select spelling as user from accelerometer_trusted_spellings
    where person in (select email from keyed)
)
select *  -- two scans, each filtered on one column (one filter of both scans every row)
from accelerometer_trusted
where user in (select user from users)
union all
select *
from accelerometer_trusted
where timestamp in (select sensorReadingTime from narrowed_step_trainer_trusted)
  and user not in (select user from users)
