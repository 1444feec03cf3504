{{ config(location=env_var('STEDI_DBT_OUT') ~ '/curated/machine_learning_curated/machine_learning_curated.parquet') }}
with owner as (
    select person_key(serialNumber) as serialNumber, min(person_key(email)) as email
    from {{ ref('customer_curated') }}
    group by 1
)
select s.sensorReadingTime,
       s.distanceFromObject,
       pseudonym(owner.email) as step_trainer_subject_id,
       a.timestamp,
       a.x,
       a.y,
       a.z,
       pseudonym(a.user) as subject_id
from {{ ref('step_trainer_trusted') }} s
join owner on person_key(s.serialNumber) = owner.serialNumber
join {{ ref('accelerometer_trusted') }} a on s.sensorReadingTime = a.timestamp
