-- machine_learning_curated has one row per (step reading, accelerometer reading) of a millisecond
select n from (select count(*) as n from {{ ref('machine_learning_curated') }})
where n <> (
    select coalesce(sum(s.readings * a.readings), 0)
    from (select sensorReadingTime as t, count(*) as readings from {{ ref('step_trainer_trusted') }} group by 1) s
    join (select timestamp as t, count(*) as readings from {{ ref('accelerometer_trusted') }} group by 1) a using (t)
)
