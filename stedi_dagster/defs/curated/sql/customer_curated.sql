-- customer_curated: trusted customers who have accelerometer readings, one row each
select *
from customer_trusted
where person_key(email) in (select person_key(user) from accelerometer_trusted)
