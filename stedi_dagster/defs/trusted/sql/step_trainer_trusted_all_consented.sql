-- step_trainer_trusted_all_consented: serials in step_trainer_trusted that some customer without consent claims, or nobody claims (or, from_consent_date, readings before a claimant's consent)
select 'serialNumber', t.serialNumber, count(*)
from step_trainer_trusted t
join (  -- each distinct serial keyed once, not each reading
    select serialNumber, person_key(serialNumber) as serial
    from (select distinct serialNumber from step_trainer_trusted)
) k on t.serialNumber = k.serialNumber
left join serial_consent s on k.serial = s.serialNumber
where not coalesce(s.consented, false)
   or (getvariable('consent_mode') = 'from_consent_date' and t.sensorReadingTime < s.consented_at)
group by t.serialNumber
order by t.serialNumber
