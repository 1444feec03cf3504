-- serial_claims_grown: serial_claims over customer_landing as it is: those over its files before ({{before}}) and over its new files alone (serial_claims_of_new_files)
select * from {{before}}
union
select * from serial_claims_of_new_files
