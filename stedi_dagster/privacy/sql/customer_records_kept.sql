-- customer_records_kept: customer_records (its columns) from what landing keeps of the files ingested as they are: the customer_landing rows of the customer's spellings ($spellings: every row of theirs, all of whose lines were read as rows or quarantined while the customer is not on the erasure list) and the quarantined lines whose email's person_key has SHA-256 $email_sha256 (their text, each distinct email keyed and hashed once; JSON functions only ever see valid JSON objects: json_object, sql/erased_record.sql)
with quarantined as (
    select json_extract_string(json_object(record), '$.email') as email,
           json_extract_string(json_object(record), '$.serialNumber') as serialNumber
    from customer_quarantine
    where json_object(record) is not null
)
select email, serialNumber
from customer_landing
where list_contains($spellings, email)
union
select email, serialNumber
from quarantined
where email in (
    select email
    from (select distinct email from quarantined)
    where sha256(person_key(email)) = $email_sha256
)
