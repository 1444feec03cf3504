-- customer_trusted_consent_owners: the owners (column, value) of the rows whose consent new customer records may have changed: every spelling of the persons of those records (consent_persons) among the rows the version keeps (customer_trusted_spellings: kept per data file)
select 'email', spelling
from customer_trusted_spellings
where person in (select person from consent_persons)
