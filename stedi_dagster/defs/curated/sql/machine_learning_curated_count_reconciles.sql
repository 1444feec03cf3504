-- machine_learning_curated_count_reconciles: the pairs of a trusted step reading of a curated customer's serial (its owner: curated_owners) and a trusted accelerometer reading of its millisecond (ml_pairing 'same_customer': of the owner), counted as they join (at x1000 2.5 s; counting each millisecond's readings on either side first and multiplying took 6.5 s: the accelerometer side grouped 40 million readings into 14 million groups)
with serials as (  -- each distinct serial keyed once, not each reading
    select serialNumber, person_key(serialNumber) as serial
    from (select distinct serialNumber from step_trainer_trusted)
),
users as (  -- each distinct user keyed once, not each reading
    select user, person_key(user) as email
    from (select distinct user from accelerometer_trusted)
),
steps as (
    select s.sensorReadingTime as t, o.email
    from step_trainer_trusted s
    join serials k on s.serialNumber = k.serialNumber
    join curated_owners o on k.serial = o.serialNumber  -- sql/curated_owners.sql
),
readings as (
    select a.timestamp as t, u.email
    from accelerometer_trusted a
    join users u on a.user = u.user
)
select count(*)
from steps s
join readings a
  on s.t = a.t
 and (getvariable('ml_pairing') = 'timestamp' or s.email = a.email)
