-- step_trainer_trusted_narrowed_customer_landing: the landing records claiming the serials in recomputed_keys (narrowed_claims: every spelling customer_landing has of them), the only claims their rows depend on
select *
from customer_landing
where serialNumber in (select spelling from narrowed_claims)
