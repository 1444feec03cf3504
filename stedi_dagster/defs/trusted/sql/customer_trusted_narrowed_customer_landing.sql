-- customer_trusted_narrowed_customer_landing: the landing records of the emails in recomputed_keys (every spelling the affected persons have in customer_landing), the only records their rows can come from
select *
from customer_landing
where email in (select key from recomputed_keys)
