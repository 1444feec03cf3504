-- landing_identifiers_erased: landing_identifiers over landing as an erasure leaves it, from the relation over it before ({{before}}): every identifier but the erased persons' emails and serials (erased_emails, erased_serials: person keys), and those of them that landing still holds: in customer_landing as it is (a serial another customer claimed too; every email and serial it holds is in research_consent or serial_claims as they are now), and among the identifiers before of the accelerometer users (landing_latest_readings before: {{users}}) and Step Trainer serials (their spellings before: {{serials}}), those of the kind the erasure did not remove their rows by (a user whose person key is an erased serial's, a serial whose person key is an erased email's)
with erased as (
    select value from erased_emails
    union
    select value from erased_serials
)
select *
from {{before}}
where value not in (select value from erased)
union all
select distinct value
from (
    select email as value from research_consent
    union all
    select serialNumber from serial_claims
    union all
    select email
    from {{users}}
    where email in (select value from erased_serials)
      and email not in (select value from erased_emails)
    union all
    select person
    from {{serials}}
    where person in (select value from erased_emails)
      and person not in (select value from erased_serials)
)
where value in (select value from erased)
