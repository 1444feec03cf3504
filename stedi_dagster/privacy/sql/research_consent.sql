-- research_consent: each person's consent (email: the person_key of their email), decided by their most recently updated landing record(s); a tie without agreement means no consent
select person_key(c.email) as email,
       bool_and(coalesce(c.shareWithResearchAsOfDate, 0) <> 0) as consented,
       max(c.shareWithResearchAsOfDate) as consented_at,
       min(person_key(c.serialNumber)) as serialNumber
from customer_landing c
join (
    select person_key(email) as email, max(coalesce(lastUpdateDate, -9223372036854775808)) as updated
    from customer_landing
    where email is not null
    group by 1
) latest
  on person_key(c.email) = latest.email
 and coalesce(c.lastUpdateDate, -9223372036854775808) = latest.updated
group by 1
