-- curated_owners: each Step Trainer serial's owner among the curated customers (person keys of both, from curated_keys; the least email key when several claimed it), which the training pairs' narrowed inputs and recount read (kept per version of customer_curated)
select serialNumber, min(email) as email
from curated_keys
group by 1
