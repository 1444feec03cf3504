-- step_trainer_trusted: readings of Step Trainers owned by curated customers and claimed by no customer without consent; with consent_mode 'from_consent_date', only those at or after every claimant's consent
select s.*
from step_trainer_landing s
join (
    select serialNumber, max(shareWithResearchAsOfDate) as consented_at
    from customer_trusted
    group by serialNumber
) owner on s.serialNumber = owner.serialNumber
where s.serialNumber in (select serialNumber from customer_curated)
  and s.serialNumber not in (
      select serialNumber
      from customer_landing
      where serialNumber is not null
        and (email is null or email not in (select email from customer_trusted))
  )
  and (getvariable('consent_mode') = 'any_time' or s.sensorReadingTime >= owner.consented_at)
