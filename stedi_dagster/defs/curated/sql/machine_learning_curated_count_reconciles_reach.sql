-- machine_learning_curated_count_reconciles_reach: the milliseconds whose pairs a change may have changed: those of the step and accelerometer readings gained or lost, and those of the step readings of every serial a curated customer gained or lost claims (its owner may have changed)
select sensorReadingTime as value from changed_step_trainer_trusted
union
select timestamp from changed_accelerometer_trusted
union
select sensorReadingTime
from step_trainer_trusted
where serialNumber in (  -- every spelling it has of them (privacy/spellings.py)
    select spelling
    from step_trainer_trusted_spellings
    where person in (select person_key(serialNumber) from changed_customer_curated)
)
