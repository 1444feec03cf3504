-- consent_changes: how many persons (person_key of the email) consent in the new customer_trusted and did not in the version it replaces (customer_trusted_previous; all of them for the first version), and the reverse; counted, never named; among the rows of both that the condition put in below is true of (every row the version added or removed, or all of them)
with now as (
    select distinct person_key(email) as person from customer_trusted where {{changed}}
),
before as (
    select distinct person_key(email) as person from customer_trusted_previous where {{changed}}
)
select
    (select count(*) from (select person from now except select person from before)) as granted,
    (select count(*) from (select person from before except select person from now)) as withdrawn
