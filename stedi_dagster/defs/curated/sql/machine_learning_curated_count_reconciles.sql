-- machine_learning_curated_count_reconciles: per millisecond, trusted step readings times trusted accelerometer readings
select coalesce(sum(s.readings * a.readings), 0)
from (select sensorReadingTime as t, count(*) as readings from step_trainer_trusted group by 1) s
join (select timestamp as t, count(*) as readings from accelerometer_trusted group by 1) a
  on s.t = a.t
