-- accelerometer_trusted_all_consented: users in accelerometer_trusted without research consent in landing (or, from_consent_date, readings before it)
select 'user', t.user, count(*)
from accelerometer_trusted t
join (  -- each distinct user keyed once, not each reading
    select user, person_key(user) as email
    from (select distinct user from accelerometer_trusted)
) u on t.user = u.user
left join research_consent r on u.email = r.email
where not coalesce(r.consented, false)
   or (getvariable('consent_mode') = 'from_consent_date' and t.timestamp < r.consented_at)
group by t.user
order by t.user
