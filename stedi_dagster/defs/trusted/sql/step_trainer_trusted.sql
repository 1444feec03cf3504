-- step_trainer_trusted: readings of Step Trainers owned by curated customers and claimed by no customer without consent
select s.*
from step_trainer_landing s
where s.serialNumber in (select serialNumber from customer_curated)
  and s.serialNumber not in (
      select serialNumber
      from customer_landing
      where serialNumber is not null
        and (email is null or email not in (select email from customer_trusted))
  )
