-- serial_consent: a Step Trainer serial (its person_key) is consented only when every person who ever claimed it consents, from the latest of their consent dates
select person_key(c.serialNumber) as serialNumber,
       bool_and(coalesce(r.consented, false)) as consented,
       max(r.consented_at) as consented_at
from customer_landing c
left join research_consent r on person_key(c.email) = r.email
where c.serialNumber is not null
group by 1
