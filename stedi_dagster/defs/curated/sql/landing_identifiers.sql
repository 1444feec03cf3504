-- landing_identifiers: the person key of every email and serial number that landing holds (each distinct spelling keyed once, not each row; none for a missing one)
select distinct person_key(value) as value
from (
    select email as value from customer_landing
    union
    select serialNumber from customer_landing
    union
    select user from accelerometer_landing
    union
    select serialNumber from step_trainer_landing
)
where value is not null
