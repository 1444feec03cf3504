-- machine_learning_curated_count_reconciles_reach: the milliseconds whose pairs a change may have changed: those of the step and accelerometer readings gained or lost, and those of the step readings of every serial a curated customer gained or lost claims (its owner may have changed)
select sensorReadingTime as value from changed_step_trainer_trusted
union
select timestamp from changed_accelerometer_trusted
union
select sensorReadingTime
from step_trainer_trusted
where serialNumber in (  -- each distinct serial keyed once, not each reading
    select serialNumber
    from (select distinct serialNumber from step_trainer_trusted)
    where person_key(serialNumber) in (
        select person_key(serialNumber) from changed_customer_curated
    )
)
