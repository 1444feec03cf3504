-- accelerometer_landing: every accelerometer reading of the landing JSON, typed, one row per line, except those of erased customers
select user, timestamp, x, y, z
from accelerometer_json
where not erased('email', user)
