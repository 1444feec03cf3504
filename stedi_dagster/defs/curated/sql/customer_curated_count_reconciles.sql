-- customer_curated_count_reconciles: consenting emails with at least one landing accelerometer reading (from_consent_date: one at or after the consent, so their latest one is); the readings are first reduced to each user value's latest, so that the person key is computed per user value, not per reading
select count(*)
from research_consent r
join (
    select person_key(u.user) as email, max(u.latest) as latest
    from (
        select a.user, max(a.timestamp) as latest
        from accelerometer_landing a
        group by a.user
    ) u
    group by 1
) a on a.email = r.email
where r.consented
  and (getvariable('consent_mode') = 'any_time' or a.latest >= r.consented_at)
