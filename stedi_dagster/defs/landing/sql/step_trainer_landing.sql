-- step_trainer_landing: every step-trainer reading of the landing JSON, typed, one row per line
select sensorReadingTime, serialNumber, distanceFromObject
from step_trainer_json
