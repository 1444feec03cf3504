-- serial_claims_part: the claims that serial_claims over customer_landing as it is holds beyond those over its files before ({{before}}): those over its new files alone (serial_claims_of_new_files) that the ones before lack, looked up by the new claims' emails
select * from serial_claims_of_new_files
except
select * from {{before}} where email in (select email from serial_claims_of_new_files)
