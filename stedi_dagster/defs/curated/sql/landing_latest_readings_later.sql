-- landing_latest_readings_later: how many persons the new files (landing_latest_readings_of_new_files) give a reading later than their latest before ({{before}}, looked up for those persons alone), or a first reading
select count(*)
from landing_latest_readings_of_new_files n
left join (
    select * from {{before}}
    where email in (select email from landing_latest_readings_of_new_files)
) b using (email)
where b.latest is null or n.latest > b.latest
