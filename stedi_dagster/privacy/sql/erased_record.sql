-- erased_record: whether a landing line's text belongs to an erased customer: by its key field (JSON path key_path, erasure list kind kind_name) when it is a JSON object, else by any word of it whose person key is on the erasure list (JSON functions only ever see valid JSON)
create or replace temp macro erased_words(text) as
    coalesce(list_has_any(
        list_transform(regexp_extract_all(text, '[^\s",:{}\[\]]+'), lambda w: sha256(person_key(w))),
        (select list(sha256) from erased_keys)
    ), false);
create or replace temp macro json_object(text) as
    case when json_type(case when json_valid(text) then text end) = 'OBJECT' then text end;
create or replace temp macro erased_record(kind_name, key_path, text) as
    case
        when text is null then false
        when json_object(text) is null then erased_words(text)
        else erased(kind_name, json_extract_string(json_object(text), key_path))
    end
