-- consenting_subjects_erased: consenting_subjects over customer_landing as an erasure leaves it, from the relation over it before ({{before}}): every subject but the erased persons' (the pseudonyms of erased_emails, their person keys)
select *
from {{before}}
where id not in (select pseudonym(value) from erased_emails)
