-- step_trainer_trusted_consent_owners: the owners (column, value) of the rows whose consent new customer records may have changed: every spelling, among the rows the version keeps (step_trainer_trusted_spellings: kept per data file), of the serials that the persons of those records (consent_persons) claim (a serial's consent is that of all who claim it; a new claim is one of their records)
select 'serialNumber', spelling
from step_trainer_trusted_spellings
where person in (
    select serialNumber from serial_claims where email in (select person from consent_persons)
)
