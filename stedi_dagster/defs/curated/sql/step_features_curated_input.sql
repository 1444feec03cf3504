-- step_features_curated_input: the training pairs' columns the features need, in each subject's time order (every column takes part, so ties are broken the same way in every run)
select subject_id, timestamp, sensorReadingTime, distanceFromObject, x, y, z
from machine_learning_curated
order by subject_id, timestamp, sensorReadingTime, distanceFromObject, x, y, z
