-- step_features_curated_all_consented: subject ids that are no consenting landing customer's pseudonym (or, from_consent_date, readings before that consent)
select 'subject_id', t.subject_id, count(*)
from step_features_curated t
left join consenting_subjects c on t.subject_id = c.id
where c.id is null
   or (getvariable('consent_mode') = 'from_consent_date' and t.timestamp < c.consented_at)
group by t.subject_id
order by 1, 2
