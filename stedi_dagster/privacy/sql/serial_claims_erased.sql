-- serial_claims_erased: serial_claims over customer_landing as an erasure leaves it, from the relation over it before ({{before}}): every claim but those of the erased persons (erased_emails: their person keys), all of whose records the erasure removed
select *
from {{before}}
where email is null or email not in (select value from erased_emails)
