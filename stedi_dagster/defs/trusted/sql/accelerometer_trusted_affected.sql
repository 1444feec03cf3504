-- accelerometer_trusted_affected: the users (every spelling in accelerometer_landing, as it is or in its changed rows) whose rows may change: persons with changed landing readings or a changed customer_trusted row
with persons as (
    select person_key(user) as person from (select distinct user from changed_accelerometer_landing)
    union
    select person_key(email) from changed_customer_trusted
),
spellings as (
    select distinct user from accelerometer_landing
    union
    select distinct user from changed_accelerometer_landing
)
select user
from spellings
where person_key(user) in (select person from persons)
