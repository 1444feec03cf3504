-- serial_claims_grown: serial_claims over customer_landing as it is: those over its files before ({{before}}) and those over its new files alone (serial_claims_of_new_files) that they do not hold (looked up by the new claims' emails, not by hashing every claim held: at x1000 a union of the two took 0.4 s)
select * from {{before}}
union all
select *
from (
    select * from serial_claims_of_new_files
    except
    select * from {{before}} where email in (select email from serial_claims_of_new_files)
)
