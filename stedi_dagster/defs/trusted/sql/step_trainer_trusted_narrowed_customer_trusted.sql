-- step_trainer_trusted_narrowed_customer_trusted: the trusted customers the rows of the serials in recomputed_keys read: those whose serial is one of them (its owner's consent date), and those whose email is a claimant's (narrowed_customer_landing: whether each claim is consented); their spellings looked up in the table's own (privacy/spellings.py)
with serials as (
    select spelling
    from customer_trusted_serial_spellings
    where person in (select person_key(key) from recomputed_keys)
)
select *  -- two scans, each filtered on one column
from customer_trusted
where serialNumber in (select spelling from serials)
union all
select *
from customer_trusted
where email in (
        select spelling
        from customer_trusted_spellings
        where person in (select person_key(email) from narrowed_customer_landing)
    )
  and coalesce(serialNumber not in (select spelling from serials), true)
