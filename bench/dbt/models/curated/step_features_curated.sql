{{ config(location=env_var('STEDI_DBT_OUT') ~ '/curated/step_features_curated/step_features_curated.parquet') }}
-- step_features_curated: per subject in time order, the acceleration magnitude with its mean and
-- standard deviation over this and the 9 preceding readings, the distance's change and the
-- milliseconds since the previous row (window functions; the project computes the same with Polars)
with pairs as (
    select subject_id, timestamp, sensorReadingTime, distanceFromObject, x, y, z,
           sqrt(x * x + y * y + z * z) as magnitude
    from {{ ref('machine_learning_curated') }}
)
select subject_id,
       timestamp,
       sensorReadingTime,
       magnitude,
       avg(magnitude) over last_10 as magnitude_mean_10,
       stddev_samp(magnitude) over last_10 as magnitude_std_10,
       distanceFromObject,
       distanceFromObject - lag(distanceFromObject) over subject_time as distance_change,
       timestamp - lag(timestamp) over subject_time as ms_since_previous
from pairs
window subject_time as (
           partition by subject_id
           order by timestamp, sensorReadingTime, distanceFromObject, x, y, z
       ),
       last_10 as (subject_time rows between 9 preceding and current row)
