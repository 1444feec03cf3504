-- customer_curated_affected: the emails (every spelling in customer_trusted, as it is or in its changed rows) whose rows may change: persons with a changed customer_trusted row or changed accelerometer_trusted readings
with persons as (
    select person_key(email) as person from changed_customer_trusted
    union
    select person_key(user) from (select distinct user from changed_accelerometer_trusted)
)
select spelling as email  -- privacy/spellings.py: customer_trusted's, kept per data file
from customer_trusted_spellings
where person in (select person from persons)
union
select email from changed_customer_trusted
