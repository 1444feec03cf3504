-- unknown_json_fields: per landing file ($files), each JSON key that is not a known column ($known), with the number of records carrying it
select filename, field, count(*) as records
from (
    select filename, unnest(json_keys(json)) as field
    from read_json_objects($files, format = 'newline_delimited', filename = true)
)
where not list_contains($known, field)
group by all
order by all
