-- curated_keys: the person keys of each curated customer's email and Step Trainer serial, which the training pairs' SQL reads (kept per data file of customer_curated: at x1000 computing them took most of the pairs' step when a new file added a few readings, or a withdrawal changed one row)
select person_key(email) as email, person_key(serialNumber) as serialNumber
from customer_curated
