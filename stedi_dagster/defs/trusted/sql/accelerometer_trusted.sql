-- accelerometer_trusted: readings whose user is a trusted (consenting) customer, compared by person_key; with consent_mode 'from_consent_date', only those taken at or after the consent
select a.*
from accelerometer_landing a
join customer_trusted c on person_key(a.user) = person_key(c.email)
where getvariable('consent_mode') = 'any_time'
   or a.timestamp >= c.shareWithResearchAsOfDate
