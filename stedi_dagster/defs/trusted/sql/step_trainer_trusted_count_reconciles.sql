-- step_trainer_trusted_count_reconciles: landing readings of curated customers' serials that every claimant consented to (from_consent_date: at or after the latest consent)
with serials as (  -- each distinct serial keyed once, not each reading
    select serialNumber, person_key(serialNumber) as serial
    from (select distinct serialNumber from step_trainer_landing)
)
select count(*)
from step_trainer_landing s
join serials k on s.serialNumber = k.serialNumber
join serial_consent c on k.serial = c.serialNumber
where c.consented
  and k.serial in (select person_key(serialNumber) from customer_curated)
  and (getvariable('consent_mode') = 'any_time' or s.sensorReadingTime >= c.consented_at)
