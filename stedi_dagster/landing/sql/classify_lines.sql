-- classify_lines: each numbered landing line (view lines: line, raw, utf8) with its columns typed as DuckDB's JSON reader types them, why it cannot be a row (reason, null if it can) and whether it belongs to an erased customer; JSON functions only ever see valid JSON objects
with checked as (
    select line, raw, json_object(raw) as object,
        case
            when not utf8 then 'not UTF-8 text'
            when not json_valid(raw) then 'malformed JSON'
            when json_object(raw) is null then 'not a JSON object'
        end as malformed
    from lines
),
typed as (
    select *, json_transform(object, '$structure') as t
    from checked
)
select line, raw, $columns,
    coalesce(malformed, nullif(concat_ws('; ',
            $problems), '')) as reason,
    erased_record('$kind', '$key_path', raw) as record_erased
from typed
