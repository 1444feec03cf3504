-- {{read}}_spellings_part: the spellings of {{read}}'s new files ({{read}}_spellings_of_new_files) that those kept over its files before ({{before}}) lack, looked up by the persons of the new ones
select *
from {{read}}_spellings_of_new_files
where spelling not in (
    select spelling
    from {{before}}
    where person in (select person from {{read}}_spellings_of_new_files)
)
