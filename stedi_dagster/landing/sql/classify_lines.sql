-- classify_lines: each numbered landing line (view lines: line, raw, utf8) with its columns typed as DuckDB's JSON reader types them, its fields the schema does not know as the text of a JSON object ({{extra}}, null if none: the object with the known fields removed by a merge patch that sets them to null), why it cannot be a row (reason, null if it can) and whether it belongs to an erased customer; JSON functions only ever see valid JSON objects
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
    select *, json_transform(object, '{{structure}}') as t
    from checked
)
select line, raw, {{columns}},
    case when object is not null
        then nullif(json_merge_patch(object, {{known_removed}}), '{}')::varchar end as {{extra}},
    coalesce(malformed, nullif(concat_ws('; ',
            {{problems}}), '')) as reason,
    erased_record('{{kind}}', '{{key_path}}', raw) as record_erased
from typed
