-- customer_curated_count_reconciles: consenting emails with at least one landing accelerometer reading (from_consent_date: at or after the consent)
select count(*)
from research_consent r
where r.consented
  and exists (
      select 1
      from accelerometer_landing a
      where person_key(a.user) = r.email
        and (getvariable('consent_mode') = 'any_time' or a.timestamp >= r.consented_at)
  )
