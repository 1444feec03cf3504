-- customer_curated_count_reconciles: consenting emails with at least one landing accelerometer reading (from_consent_date: one at or after the consent, so their latest one is: landing_latest_readings)
select count(*)
from research_consent r
join landing_latest_readings a on a.email = r.email
where r.consented
  and (getvariable('consent_mode') = 'any_time' or a.latest >= r.consented_at)
