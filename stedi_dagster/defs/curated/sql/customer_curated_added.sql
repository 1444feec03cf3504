-- customer_curated_added: the rows customer_curated gains from new accelerometer_trusted rows (here: those rows only; customer_curated: the table as it is, customer_trusted unchanged): trusted customers with a new reading who are not in the table yet, one row each (persons found by the kept keys of customer_trusted and customer_curated, not by keying every customer again)
with readers as (  -- each distinct user of the new readings keyed once, not each reading
    select distinct person_key(user) as person
    from (select distinct user from accelerometer_trusted)
),
curated as (  -- those of them customer_curated holds already (curated_keys.email: a person key)
    select email as person from curated_keys where email in (select person from readers)
)
select *
from customer_trusted
where email in (
    select email
    from trusted_persons
    where person in (select person from readers)
      and person not in (select person from curated)
)
