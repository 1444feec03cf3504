-- research_consent_grown: research_consent over customer_landing as it is, from the relation over its files before ({{before}}) and the one over its new files alone (research_consent_of_new_files): per person, the side whose latest record is later decides; on the same date both sides' records are the latest (consent only when both consent, the later consent date, the least serial)
select coalesce(b.email, n.email) as email,
       case when n.email is null or b.updated > n.updated then b.consented
            when b.email is null or n.updated > b.updated then n.consented
            else b.consented and n.consented end as consented,
       case when n.email is null or b.updated > n.updated then b.consented_at
            when b.email is null or n.updated > b.updated then n.consented_at
            else greatest(b.consented_at, n.consented_at) end as consented_at,
       case when n.email is null or b.updated > n.updated then b.serialNumber
            when b.email is null or n.updated > b.updated then n.serialNumber
            else least(b.serialNumber, n.serialNumber) end as serialNumber,
       greatest(b.updated, n.updated) as updated
from {{before}} b
full join research_consent_of_new_files n on b.email = n.email
