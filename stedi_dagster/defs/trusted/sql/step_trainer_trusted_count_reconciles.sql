-- step_trainer_trusted_count_reconciles: landing readings of curated customers' serials that every claimant consented to (from_consent_date: at or after the latest consent)
select count(*)
from step_trainer_landing s
join serial_consent c on person_key(s.serialNumber) = c.serialNumber
where c.consented
  and person_key(s.serialNumber) in (select person_key(serialNumber) from customer_curated)
  and (getvariable('consent_mode') = 'any_time' or s.sensorReadingTime >= c.consented_at)
