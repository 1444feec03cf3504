-- customer_curated: trusted customers who have accelerometer readings, one row each
select *
from customer_trusted
where email in (select user from accelerometer_trusted)
