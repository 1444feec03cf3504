-- customer_curated: trusted customers who have accelerometer readings, one row each (persons found by trusted_persons, customer_trusted's kept person keys, which the adder reads too, and by the spellings of accelerometer_trusted's users with their person keys: privacy/spellings.py, kept per data file)
select *
from customer_trusted
where email in (
    select email
    from trusted_persons
    where person in (select person from accelerometer_trusted_spellings)
)
