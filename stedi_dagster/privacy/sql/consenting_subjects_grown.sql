-- consenting_subjects_grown: consenting_subjects over customer_landing as it is, from the relation over its files before ({{before}}): the persons of the new files' records (research_consent_of_new_files) taken again from research_consent as it is, every other kept
select *
from {{before}}
where id not in (select pseudonym(email) from research_consent_of_new_files)
union all
select pseudonym(email) as id, consented_at
from research_consent
where consented
  and email in (select email from research_consent_of_new_files)
