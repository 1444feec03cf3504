-- landing_latest_readings_erased: landing_latest_readings over accelerometer_landing as an erasure leaves it, from the relation over it before ({{before}}): every person's latest reading but the erased persons' (erased_emails: their person keys), all of whose readings the erasure removed
select *
from {{before}}
where email is null or email not in (select value from erased_emails)
