-- serial_claims: who claimed each Step Trainer serial: every distinct (serial, email) of the landing records with a serial, both as person_key
select distinct person_key(serialNumber) as serialNumber, person_key(email) as email
from customer_landing
where serialNumber is not null
