-- customer_trusted holds no customer whose newest landing record does not consent (independent
-- of the model's SQL)
with latest as (
    select person_key(email) as email, max(coalesce(lastUpdateDate, -9223372036854775808)) as updated
    from {{ ref('customer_landing') }}
    group by 1
),
consent as (
    select person_key(c.email) as email, bool_and(coalesce(c.shareWithResearchAsOfDate, 0) <> 0) as consented
    from {{ ref('customer_landing') }} c
    join latest l on person_key(c.email) = l.email and coalesce(c.lastUpdateDate, -9223372036854775808) = l.updated
    group by 1
)
select t.email
from {{ ref('customer_trusted') }} t
left join consent r on person_key(t.email) = r.email
where not coalesce(r.consented, false)
