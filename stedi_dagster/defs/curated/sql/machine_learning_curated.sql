-- machine_learning_curated: each trusted step-trainer reading paired with the trusted accelerometer readings of its millisecond (ml_pairing 'same_customer': of its owner only); people appear only as pseudonyms
with owner as (
    select person_key(serialNumber) as serialNumber, min(person_key(email)) as email
    from customer_curated
    group by 1
),
subject as (
    select person_key(email) as email, pseudonym(email) as id
    from customer_curated
)
select s.sensorReadingTime,
       s.distanceFromObject,
       step_trainer_subject.id as step_trainer_subject_id,
       a.timestamp,
       a.x,
       a.y,
       a.z,
       accelerometer_subject.id as subject_id
from step_trainer_trusted s
join owner on person_key(s.serialNumber) = owner.serialNumber
join subject step_trainer_subject on owner.email = step_trainer_subject.email
join accelerometer_trusted a on s.sensorReadingTime = a.timestamp
join subject accelerometer_subject on person_key(a.user) = accelerometer_subject.email
where getvariable('ml_pairing') = 'timestamp' or person_key(a.user) = owner.email
