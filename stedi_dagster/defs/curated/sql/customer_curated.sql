-- customer_curated: trusted customers who have accelerometer readings, one row each (persons found by trusted_persons, customer_trusted's kept person keys, which the adder reads too)
select *
from customer_trusted
where email in (
    select email
    from trusted_persons
    where person in (  -- each distinct user keyed once, not each reading
        select person_key(user) from (select distinct user from accelerometer_trusted)
    )
)
