-- accelerometer_trusted_count_reconciles_reach: the users and emails whose count a change may have changed: every spelling (privacy/sql/spellings.sql), in accelerometer_landing and customer_landing, of the persons of the changed customer records and landing readings (the count is a sum over persons: their readings, by their consent alone)
with persons as (
    select person_key(email) as person from changed_customer_landing
    union
    select person_key(user) from (select distinct user from changed_accelerometer_landing)
)
select spelling as value
from accelerometer_landing_spellings
where person in (select person from persons)
union
select spelling from customer_landing_spellings where person in (select person from persons)
union
select user from changed_accelerometer_landing
union
select email from changed_customer_landing
