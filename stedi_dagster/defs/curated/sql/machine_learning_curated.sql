-- machine_learning_curated: each trusted step-trainer reading paired with the trusted accelerometer readings of its millisecond (ml_pairing 'same_customer': of its owner only); people appear only as pseudonyms
with serials as (  -- each distinct serial keyed once, not each reading
    select serialNumber, person_key(serialNumber) as serialKey
    from (select distinct serialNumber from step_trainer_trusted)
),
owner as (  -- of these serials (curated_keys: customer_curated's person keys, kept per version)
    select serialNumber, min(email) as email
    from curated_keys
    where serialNumber in (select serialKey from serials)
    group by 1
),
users as (  -- each distinct user keyed once, not each reading
    select user, person_key(user) as email
    from (select distinct user from accelerometer_trusted)
),
subject as (  -- pseudonyms (a keyed hash each) of the persons these readings reach alone
    select email, pseudonym(email) as id  -- of the person key: the same id
    from (select email from curated_keys)
    where email in (select email from users)
       or email in (select email from owner where serialNumber in (select serialKey from serials))
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
join serials k on s.serialNumber = k.serialNumber
join owner on k.serialKey = owner.serialNumber
join subject step_trainer_subject on owner.email = step_trainer_subject.email
join accelerometer_trusted a on s.sensorReadingTime = a.timestamp
join users u on a.user = u.user
join subject accelerometer_subject on u.email = accelerometer_subject.email
where getvariable('ml_pairing') = 'timestamp' or u.email = owner.email
