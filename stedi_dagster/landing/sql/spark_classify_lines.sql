-- spark_classify_lines: (Spark SQL; DuckDB's is classify_lines) each non-blank line of the files in view landing_files (file_no, content, valid), numbered from 1, with its columns typed from the JSON, why it cannot be a row (reason, null if it can), its text if it cannot or its file is a whole-file rejection ({{whole_file}}: record), whether it belongs to an erased customer, and the JSON keys of a good line that the schema does not know ({{known}}: the others) and those fields as the text of a JSON object ({{extra}}, null if none)
with numbered as (
    select file_no, cast(pos + 1 as bigint) as line, regexp_replace(text, '\r$', '') as raw,
           valid or not contains(text, decode(unhex('EFBFBD'), 'UTF-8')) as utf8
    from landing_files lateral view posexplode(split(content, '\n')) lines as pos, text
),
parsed as (
    select *, case when utf8 then try_parse_json(raw) end as v
    from numbered
    where not raw rlike '^\\s*$'
),
checked as (
    select *,
        case
            when not utf8 then 'not UTF-8 text'
            when v is null then 'malformed JSON'
            when not raw rlike '^\\s*[{]' then 'not a JSON object'
        end as malformed
    from parsed
),
typed as (
    select *, {{typed}}
    from checked
),
classified as (
    select file_no, line, raw, {{columns}},
        coalesce(malformed, nullif(concat_ws('; ', {{problems}}), '')) as reason,
        case when malformed is null then {{erased_key}} else {{erased_words}} end as record_erased
    from typed
),
keyed as (
    select *,
        case when reason is null then filter(json_object_keys(raw), k -> not array_contains(array({{known}}), k)) end as unknown
    from classified
)
-- the line parsed a third time, for its fields the schema does not know, only if it has any
select file_no, line, {{columns}}, reason,
    case when reason is not null or {{whole_file}} then make_valid_utf8(raw) end as record,
    record_erased,
    unknown,
    case when size(unknown) > 0 then nullif(to_json(map_filter(from_json(raw, 'map<string,variant>'), (k, x) -> not array_contains(array({{known}}), k))), '{}') end as {{extra}}
from keyed
