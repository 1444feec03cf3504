-- accelerometer_trusted_count_reconciles: landing readings whose user consented (from_consent_date: at or after the consent)
select count(*)
from accelerometer_landing a
join research_consent r on person_key(a.user) = r.email
where r.consented
  and (getvariable('consent_mode') = 'any_time' or a.timestamp >= r.consented_at)
