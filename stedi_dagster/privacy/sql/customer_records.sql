-- customer_records: the email and serial number of every landing customer record ($files) whose email's person_key has SHA-256 $email_sha256 (lines that are not JSON are skipped: their words are matched when quarantine parts are erased)
select distinct json_extract_string(json, '$.email') as email, json_extract_string(json, '$.serialNumber') as serialNumber
from read_json_objects($files, format = 'newline_delimited', ignore_errors = true)
where sha256(person_key(json_extract_string(json, '$.email'))) = $email_sha256
