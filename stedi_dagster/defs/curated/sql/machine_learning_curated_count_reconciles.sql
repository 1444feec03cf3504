-- machine_learning_curated_count_reconciles: per millisecond (and owner, for same_customer), trusted step readings times trusted accelerometer readings
select coalesce(sum(s.readings * a.readings), 0)
from (
    select s.sensorReadingTime as t, o.email, count(*) as readings
    from step_trainer_trusted s
    join (
        select serialNumber, min(email) as email from customer_curated group by serialNumber
    ) o on s.serialNumber = o.serialNumber
    group by all
) s
join (
    select timestamp as t, user as email, count(*) as readings
    from accelerometer_trusted
    group by all
) a
  on s.t = a.t
 and (getvariable('ml_pairing') = 'timestamp' or s.email = a.email)
