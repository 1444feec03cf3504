-- serial_consent_part: serial_consent's rows of the serials whose consent may differ from the relation over customer_landing's files before ({{before}}): those the new files' records claim, and those that the persons of those records claim in any record (their consent may have changed), computed again from serial_claims and research_consent as they are (every other serial's claims and claimants' consent are as they were)
with touched as (
    select serialNumber from serial_claims_of_new_files
    union
    select serialNumber
    from serial_claims
    where email in (select email from research_consent_of_new_files)
)
select c.serialNumber,
       bool_and(coalesce(r.consented, false)) as consented,
       max(r.consented_at) as consented_at
from serial_claims c
left join research_consent r on c.email = r.email
where c.serialNumber in (select serialNumber from touched)
group by 1
