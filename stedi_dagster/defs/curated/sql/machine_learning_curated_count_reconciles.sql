-- machine_learning_curated_count_reconciles: per millisecond (and owner, for same_customer), trusted step readings times trusted accelerometer readings
select coalesce(sum(s.readings * a.readings), 0)
from (
    select s.sensorReadingTime as t, o.email, count(*) as readings
    from step_trainer_trusted s
    join (  -- each distinct serial keyed once, not each reading
        select serialNumber, person_key(serialNumber) as serial
        from (select distinct serialNumber from step_trainer_trusted)
    ) k on s.serialNumber = k.serialNumber
    join curated_owners o on k.serial = o.serialNumber  -- sql/curated_owners.sql
    group by all
) s
join (
    select a.timestamp as t, u.email, count(*) as readings
    from accelerometer_trusted a
    join (  -- each distinct user keyed once, not each reading
        select user, person_key(user) as email
        from (select distinct user from accelerometer_trusted)
    ) u on a.user = u.user
    group by all
) a
  on s.t = a.t
 and (getvariable('ml_pairing') = 'timestamp' or s.email = a.email)
