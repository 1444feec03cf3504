-- serial_consent_erased: serial_consent over customer_landing as an erasure leaves it, from the relation over it before ({{before}}): the rows of the serials the erased persons' records claimed (erased_serials: their person keys; every other serial's claims and claimants are as they were) computed again (serial_consent.sql, over serial_claims and research_consent as they are: a serial someone else claimed too keeps a row, maybe consented now), every other row kept
select *
from {{before}}
where serialNumber not in (select value from erased_serials)
union all
select *
from ({{serial_consent}})
where serialNumber in (select value from erased_serials)
