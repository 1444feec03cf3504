-- machine_learning_curated_affected: the pseudonyms (and person keys) of the persons whose pairs may change, as subject or as the step trainer's owner: those with changed accelerometer_trusted readings or a changed customer_curated row, the owners of serials with changed step_trainer_trusted readings, and every customer_curated customer sharing a serial with a changed customer_curated row (one of them owns it)
with serials as (
    select person_key(serialNumber) as serial from changed_customer_curated
    union
    select person_key(serialNumber)
    from (select distinct serialNumber from changed_step_trainer_trusted)
),
persons as (
    select person_key(user) as person
    from (select distinct user from changed_accelerometer_trusted)
    union
    select person_key(email) from changed_customer_curated
    union
    select person_key(email)
    from customer_curated
    where person_key(serialNumber) in (select serial from serials)
)
select pseudonym(person), person from persons
