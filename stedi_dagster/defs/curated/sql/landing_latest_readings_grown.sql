-- landing_latest_readings_grown: landing_latest_readings over accelerometer_landing as it is, from the relation over its files before ({{before}}) and over its new files alone (landing_latest_readings_of_new_files): per person, the later of both
select email, max(latest) as latest
from (
    select * from {{before}}
    union all
    select * from landing_latest_readings_of_new_files
) both_sides
group by 1
