-- accelerometer_trusted_all_consented: users in accelerometer_trusted without research consent in landing (or, from_consent_date, readings before it)
select 'user', t.user, count(*)
from accelerometer_trusted t
left join research_consent r on person_key(t.user) = r.email
where not coalesce(r.consented, false)
   or (getvariable('consent_mode') = 'from_consent_date' and t.timestamp < r.consented_at)
group by t.user
order by t.user
