-- step_trainer_landing: every step-trainer reading of the landing JSON, typed, one row per line, except those of erased customers' serials
select sensorReadingTime, serialNumber, distanceFromObject
from step_trainer_json
where not erased('serial', serialNumber)
