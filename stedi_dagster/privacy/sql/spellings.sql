-- {{read}}_spellings: every spelling of {{column}} that {{read}} holds, with its person key (kept per version of it, grown by the spellings of its new files: a keyed table's affected query looks a person's spellings up here, instead of keying every distinct value of the table, 0.4 s at x1000)
select distinct person_key({{column}}) as person, {{column}} as spelling
from {{read}}
where {{column}} is not null
