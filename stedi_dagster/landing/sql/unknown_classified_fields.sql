-- unknown_classified_fields: each JSON key of the good lines in table classified that is not a known column ($known), with the number of lines carrying it
select field, count(*) as records
from (select unnest(json_keys(json_object(raw))) as field from classified where reason is null and not record_erased)
where not list_contains($known, field)
group by field
order by field
