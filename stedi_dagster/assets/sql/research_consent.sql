-- research_consent: each email's consent, decided by its most recently updated landing record(s); a tie without agreement means no consent
select c.email,
       bool_and(coalesce(c.shareWithResearchAsOfDate, 0) <> 0) as consented,
       max(c.shareWithResearchAsOfDate) as consented_at,
       min(c.serialNumber) as serialNumber
from customer_landing c
join (
    select email, max(coalesce(lastUpdateDate, -9223372036854775808)) as updated
    from customer_landing
    where email is not null
    group by email
) latest
  on c.email = latest.email
 and coalesce(c.lastUpdateDate, -9223372036854775808) = latest.updated
group by c.email
