-- accelerometer_trusted_count_reconciles: landing readings whose user consented (from_consent_date: at or after the consent); each distinct user is keyed once, not each reading
with users as (
    select user, person_key(user) as email
    from (select distinct user from accelerometer_landing)
)
select count(*)
from accelerometer_landing a
join users u on a.user = u.user
join research_consent r on u.email = r.email
where r.consented
  and (getvariable('consent_mode') = 'any_time' or a.timestamp >= r.consented_at)
