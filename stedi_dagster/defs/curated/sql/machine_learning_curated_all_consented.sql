-- machine_learning_curated_all_consented: users and serials in machine_learning_curated whose owners lack research consent in landing
select 'user', t.user, count(*)
from machine_learning_curated t
left join research_consent r on t.user = r.email
where not coalesce(r.consented, false)
group by t.user
union all
select 'serialNumber', t.serialNumber, count(*)
from machine_learning_curated t
left join serial_consent s on t.serialNumber = s.serialNumber
where not coalesce(s.consented, false)
group by t.serialNumber
order by 1, 2
