-- step_trainer_trusted_all_consented: serials in step_trainer_trusted that some customer without consent claims, or nobody claims
select 'serialNumber', t.serialNumber, count(*)
from step_trainer_trusted t
left join serial_consent s on t.serialNumber = s.serialNumber
where not coalesce(s.consented, false)
group by t.serialNumber
order by t.serialNumber
