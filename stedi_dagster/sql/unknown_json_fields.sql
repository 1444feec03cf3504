-- unknown_json_fields: each JSON key that is not a known column ($2), with the number of records carrying it
select field, count(*) as records
from (select unnest(json_keys(json)) as field from read_json_objects($1, format = 'newline_delimited'))
where not list_contains($2, field)
group by field
order by field
