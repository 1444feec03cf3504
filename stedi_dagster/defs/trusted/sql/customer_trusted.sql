-- customer_trusted: the most recently updated record of each person (person_key of the email), kept when it consents to research
select *
from customer_landing
where person_key(email) is not null
qualify row_number() over (
            partition by person_key(email)
            order by lastUpdateDate desc nulls last,
                     coalesce(shareWithResearchAsOfDate, 0) <> 0,
                     serialNumber
        ) = 1
    and coalesce(shareWithResearchAsOfDate, 0) <> 0
