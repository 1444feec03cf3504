-- serial_consent: a Step Trainer serial (its person_key) is consented only when every person who ever claimed it (serial_claims) consents, from the latest of their consent dates
select c.serialNumber,
       bool_and(coalesce(r.consented, false)) as consented,
       max(r.consented_at) as consented_at
from serial_claims c
left join research_consent r on c.email = r.email
group by 1
