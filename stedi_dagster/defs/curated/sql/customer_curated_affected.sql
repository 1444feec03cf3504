-- customer_curated_affected: the emails (every spelling in customer_landing, whose records customer_trusted's rows are, or in customer_trusted's changed rows) whose rows may change: persons with a changed customer_trusted row or changed accelerometer_trusted readings
with persons as (
    select person_key(email) as person from changed_customer_trusted
    union
    select person_key(user) from (select distinct user from changed_accelerometer_trusted)
)
select spelling as email  -- privacy/sql/spellings.sql: kept per version of customer_landing
from customer_landing_spellings
where person in (select person from persons)
union
select email from changed_customer_trusted
