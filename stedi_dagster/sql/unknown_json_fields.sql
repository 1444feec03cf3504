-- unknown_json_fields: per landing file ($1: files), each JSON key that is not a known column ($2), with the number of records carrying it
select filename, field, count(*) as records
from (
    select filename, unnest(json_keys(json)) as field
    from read_json_objects($1, format = 'newline_delimited', filename = true)
)
where not list_contains($2, field)
group by all
order by all
