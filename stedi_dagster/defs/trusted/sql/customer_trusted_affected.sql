-- customer_trusted_affected: the emails (every spelling in customer_landing, as it is or in its changed rows) whose row may change: those of the persons of changed landing records
with persons as (
    select person_key(email) as person from changed_customer_landing
)
select spelling as email  -- privacy/sql/spellings.sql: kept per version of customer_landing
from customer_landing_spellings
where person in (select person from persons)
union
select email from changed_customer_landing
