-- accelerometer_trusted_narrowed_accelerometer_landing: the landing readings of the users in recomputed_keys (each spelling the affected persons have in accelerometer_landing), the only readings their rows can come from
select *
from accelerometer_landing
where user in (select key from recomputed_keys)
