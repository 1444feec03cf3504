-- accelerometer_trusted: readings whose user is a trusted (consenting) customer, compared by person_key (trusted_persons: customer_trusted's, kept); with consent_mode 'from_consent_date', only those taken at or after the consent
select a.*
from accelerometer_landing a
join (  -- each distinct user keyed once, not each reading
    select user, person_key(user) as person
    from (select distinct user from accelerometer_landing)
) u on a.user = u.user
join trusted_persons c on u.person = c.person
where getvariable('consent_mode') = 'any_time'
   or a.timestamp >= c.shareWithResearchAsOfDate
