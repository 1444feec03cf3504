-- curated_owners: each Step Trainer serial's owner among the curated customers (person keys of both, from curated_keys; the least email key when several claimed it), which the training pairs' recount reads (of a few step readings' serials alone: sql/curated_owners_narrowed.sql)
select serialNumber, min(email) as email
from curated_keys
group by 1
