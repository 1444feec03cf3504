-- spellings: every spelling of {{column}} in {{rows}}, with its person key (each distinct spelling keyed once; kept per version of a landing table, grown by the spellings of its new files, or per data file of a trusted table: privacy/spellings.py)
select person_key({{column}}) as person, {{column}} as spelling
from (select distinct {{column}} from {{rows}})
where {{column}} is not null
