-- curated_owners: each Step Trainer serial's owner among the curated customers (person keys of both; the least email key when several claimed it), which the training pairs' recount reads (kept per version of customer_curated, as the recount over the milliseconds a new file reaches keyed every curated customer twice)
select person_key(serialNumber) as serialNumber, min(person_key(email)) as email
from customer_curated
group by 1
