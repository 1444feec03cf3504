-- accelerometer_trusted_affected: the users (every spelling in accelerometer_landing, as it is or in its changed rows) whose rows may change: persons with changed landing readings or a changed customer_trusted row
with persons as (
    select person_key(user) as person from (select distinct user from changed_accelerometer_landing)
    union
    select person_key(email) from changed_customer_trusted
)
select spelling as user  -- privacy/sql/spellings.sql: kept per version of it
from accelerometer_landing_spellings
where person in (select person from persons)
union
select distinct user from changed_accelerometer_landing
