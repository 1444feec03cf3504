-- curated_owners_narrowed: curated_owners (sql/curated_owners.sql) of the serials that step_trainer_trusted holds alone, for a count over a few of its readings (those of the milliseconds new readings or a change reach): each serial's owner is the least email key of those that claimed it, whichever readings are shown (at x1000 0.13 s for every serial, computed in each new file's run and twice in a withdrawal's)
select serialNumber, min(email) as email
from curated_keys
where serialNumber in (
    select person_key(serialNumber) from (select distinct serialNumber from step_trainer_trusted)
)
group by 1
