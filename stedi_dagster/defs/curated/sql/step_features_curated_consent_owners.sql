-- step_features_curated_consent_owners: the owners (column, value) of the rows whose consent new customer records may have changed: the pseudonyms of the persons of those records (consent_persons)
select 'subject_id', pseudonym(person) from consent_persons
