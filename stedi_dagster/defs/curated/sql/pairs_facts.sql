-- pairs_facts: per subject, what the training pairs' profile and cross_customer_pairs check sum over some of the pairs ({{rows}}: one data file's, kept per file, see engines/file_facts.py)
select subject_id,
       count(*) as pairs,
       count(*) filter (where subject_id <> step_trainer_subject_id) as crossed,
       count(distanceFromObject) as distances,
       sum(distanceFromObject) as distance_sum,
       min(distanceFromObject) as distance_min,
       max(distanceFromObject) as distance_max,
       count(magnitude) as magnitudes,
       sum(magnitude) as magnitude_sum,
       max(magnitude) as magnitude_max,
       min(timestamp) as first_timestamp,
       max(timestamp) as last_timestamp
from (select *, sqrt(x * x + y * y + z * z) as magnitude from ({{rows}}))
group by subject_id
