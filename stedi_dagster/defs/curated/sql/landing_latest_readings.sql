-- landing_latest_readings: each landing accelerometer user's latest reading (email: the person_key of the user; latest: its time); the readings are first reduced to each user value's latest, so that the person key is computed per user value, not per reading
select person_key(user) as email, max(latest) as latest
from (
    select user, max(timestamp) as latest
    from accelerometer_landing
    group by user
) users
group by 1
