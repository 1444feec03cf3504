-- research_consent_part: research_consent's rows of the persons of customer_landing's new files' records (research_consent_of_new_files), over customer_landing as it is, from the relation over its files before ({{before}}): per person, the side whose latest record is later decides; on the same date both sides' records are the latest (consent only when both consent, the later consent date, the least serial); every other person's row is the one before
select n.email,
       case when b.updated > n.updated then b.consented
            when b.email is null or n.updated > b.updated then n.consented
            else b.consented and n.consented end as consented,
       case when b.updated > n.updated then b.consented_at
            when b.email is null or n.updated > b.updated then n.consented_at
            else greatest(b.consented_at, n.consented_at) end as consented_at,
       case when b.updated > n.updated then b.serialNumber
            when b.email is null or n.updated > b.updated then n.serialNumber
            else least(b.serialNumber, n.serialNumber) end as serialNumber,
       greatest(b.updated, n.updated) as updated
from research_consent_of_new_files n
left join {{before}} b on b.email = n.email
