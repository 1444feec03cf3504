-- machine_learning_curated: each trusted step-trainer reading paired with every trusted accelerometer reading of the same millisecond
select s.sensorReadingTime, s.serialNumber, s.distanceFromObject,
       a.user, a.timestamp, a.x, a.y, a.z
from step_trainer_trusted s
join accelerometer_trusted a on s.sensorReadingTime = a.timestamp
