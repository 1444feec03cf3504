-- customer_trusted_affected: the emails (every spelling in customer_landing, as it is or in its changed rows) whose row may change: those of the persons of changed landing records
with persons as (
    select person_key(email) as person from changed_customer_landing
),
spellings as (
    select distinct email from customer_landing
    union
    select distinct email from changed_customer_landing
)
select email
from spellings
where person_key(email) in (select person from persons)
