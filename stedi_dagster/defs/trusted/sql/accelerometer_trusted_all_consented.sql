-- accelerometer_trusted_all_consented: users in accelerometer_trusted without research consent in landing
select 'user', t.user, count(*)
from accelerometer_trusted t
left join research_consent r on t.user = r.email
where not coalesce(r.consented, false)
group by t.user
order by t.user
