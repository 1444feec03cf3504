-- consenting_subjects: the pseudonym (subject id) of every person with research consent, and when they consented
select pseudonym(email) as id, consented_at
from research_consent
where consented
