-- research_consent: each person's consent (email: the person_key of their email), decided by their most recently updated landing record(s) (updated: when); a tie without agreement means no consent
select email,
       bool_and(coalesce(shareWithResearchAsOfDate, 0) <> 0) as consented,
       max(shareWithResearchAsOfDate) as consented_at,
       min(serialNumber) as serialNumber,
       max(updated) as updated
from (
    select *, max(updated) over (partition by email) as latest
    from (  -- each record's person key computed once
        select person_key(email) as email,
               shareWithResearchAsOfDate,
               person_key(serialNumber) as serialNumber,
               coalesce(lastUpdateDate, -9223372036854775808) as updated
        from customer_landing
        where email is not null
    ) records
) dated
where updated = latest
group by 1
