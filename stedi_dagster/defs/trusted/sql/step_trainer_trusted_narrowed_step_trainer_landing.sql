-- step_trainer_trusted_narrowed_step_trainer_landing: the landing readings of the serials in recomputed_keys (each spelling the affected serials have in step_trainer_landing), the only readings their rows can come from
select *
from step_trainer_landing
where serialNumber in (select key from recomputed_keys)
