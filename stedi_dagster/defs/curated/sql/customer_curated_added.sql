-- customer_curated_added: the rows customer_curated gains from new accelerometer_trusted rows (here: those rows only; customer_curated: the table as it is, customer_trusted unchanged): trusted customers with a new reading who are not in the table yet, one row each
select *
from customer_trusted
where person_key(email) in (  -- each distinct user keyed once, not each reading
    select person_key(user) from (select distinct user from accelerometer_trusted)
)
  and person_key(email) not in (select person_key(email) from customer_curated)
