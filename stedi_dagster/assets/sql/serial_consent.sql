-- serial_consent: a Step Trainer serial is consented only when every email that ever claimed it consents, from the latest of their consent dates
select c.serialNumber,
       bool_and(coalesce(r.consented, false)) as consented,
       max(r.consented_at) as consented_at
from customer_landing c
left join research_consent r on c.email = r.email
where c.serialNumber is not null
group by c.serialNumber
