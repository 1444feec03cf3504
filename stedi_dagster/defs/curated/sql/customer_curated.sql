-- customer_curated: trusted customers who have accelerometer readings, one row each
select *
from customer_trusted
where person_key(email) in (  -- each distinct user keyed once, not each reading
    select person_key(user) from (select distinct user from accelerometer_trusted)
)
