-- accelerometer_trusted_count_reconciles: landing readings whose user consented
select count(*)
from accelerometer_landing a
join research_consent r on a.user = r.email
where r.consented
