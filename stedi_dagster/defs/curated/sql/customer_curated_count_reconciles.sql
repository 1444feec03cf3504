-- customer_curated_count_reconciles: consenting emails with at least one landing accelerometer reading
select count(*)
from research_consent r
where r.consented
  and exists (select 1 from accelerometer_landing a where a.user = r.email)
