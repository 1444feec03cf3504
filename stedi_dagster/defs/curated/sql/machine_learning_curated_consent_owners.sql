-- machine_learning_curated_consent_owners: the owners (column, value) of the pairs whose consent new customer records may have changed: the pseudonyms of the persons of those records (consent_persons), as subject or as the step trainer's owner
select 'subject_id', pseudonym(person) from consent_persons
union all
select 'step_trainer_subject_id', pseudonym(person) from consent_persons
