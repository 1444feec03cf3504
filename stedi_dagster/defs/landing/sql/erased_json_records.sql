-- erased_json_records: landing JSON records ($1) whose key (JSON path $2) is on the erasure list as kind $3
select count(*)
from read_json_objects($1, format = 'newline_delimited')
where erased($3, json_extract_string(json, $2))
