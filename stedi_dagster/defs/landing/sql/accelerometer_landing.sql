-- accelerometer_landing: every accelerometer reading of the landing JSON, typed, one row per line
select user, timestamp, x, y, z
from accelerometer_json
