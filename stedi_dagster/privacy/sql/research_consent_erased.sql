-- research_consent_erased: research_consent over customer_landing as an erasure leaves it, from the relation over it before ({{before}}): every person's row but the erased persons' (erased_emails: their person keys), all of whose records the erasure removed
select *
from {{before}}
where email not in (select value from erased_emails)
