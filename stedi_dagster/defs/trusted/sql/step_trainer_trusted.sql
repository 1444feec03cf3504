-- step_trainer_trusted: readings of Step Trainers (serials compared by person_key) owned by curated customers and claimed by no customer without consent; with consent_mode 'from_consent_date', only those at or after every claimant's consent (NOT EXISTS rather than NOT IN: the same rows here, where no claimed serial is null, and an anti join on Spark instead of a nested loop)
with unconsented_claims as (
    select person_key(c.serialNumber) as serialNumber
    from customer_landing c
    left join customer_trusted t on person_key(c.email) = person_key(t.email)
    where c.serialNumber is not null
      and t.email is null
),
serials as (  -- each distinct serial keyed once, not each reading
    select serialNumber, person_key(serialNumber) as serialKey
    from (select distinct serialNumber from step_trainer_landing)
)
select s.*
from step_trainer_landing s
join serials k on s.serialNumber = k.serialNumber
join (
    select person_key(serialNumber) as serialNumber, max(shareWithResearchAsOfDate) as consented_at
    from customer_trusted
    group by 1
) owner on k.serialKey = owner.serialNumber
where k.serialKey in (select person_key(serialNumber) from customer_curated)
  and not exists (select 1 from unconsented_claims u where u.serialNumber = k.serialKey)
  and (getvariable('consent_mode') = 'any_time' or s.sensorReadingTime >= owner.consented_at)
