-- customer_records: the email and serial number of every landing customer record ($1: files) whose trimmed lower-case email has SHA-256 $2
select distinct email, serialNumber
from read_json($1, format = 'newline_delimited', columns = {'email': 'VARCHAR', 'serialNumber': 'VARCHAR'})
where sha256(lower(trim(email))) = $2
