-- spellings_part: the spellings of a landing table's new files ({{relation}}_of_new_files) that those kept over its files before ({{before}}) lack, looked up by the persons of the new ones
select *
from {{relation}}_of_new_files
where spelling not in (
    select spelling
    from {{before}}
    where person in (select person from {{relation}}_of_new_files)
)
