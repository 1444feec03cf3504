-- customer_trusted_all_consented: emails in customer_trusted without research consent in landing
select 'email', t.email, count(*)
from customer_trusted t
left join research_consent r on person_key(t.email) = r.email
where not coalesce(r.consented, false)
group by t.email
order by t.email
