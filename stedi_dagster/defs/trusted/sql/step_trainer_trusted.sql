-- step_trainer_trusted: readings of Step Trainers owned by curated customers and claimed by no customer without consent; with consent_mode 'from_consent_date', only those at or after every claimant's consent (NOT EXISTS rather than NOT IN: the same rows here, where no claimed serial is null, and an anti join on Spark instead of a nested loop)
with unconsented_claims as (
    select c.serialNumber
    from customer_landing c
    left join customer_trusted t on c.email = t.email
    where c.serialNumber is not null
      and t.email is null
)
select s.*
from step_trainer_landing s
join (
    select serialNumber, max(shareWithResearchAsOfDate) as consented_at
    from customer_trusted
    group by serialNumber
) owner on s.serialNumber = owner.serialNumber
where s.serialNumber in (select serialNumber from customer_curated)
  and not exists (select 1 from unconsented_claims u where u.serialNumber = s.serialNumber)
  and (getvariable('consent_mode') = 'any_time' or s.sensorReadingTime >= owner.consented_at)
