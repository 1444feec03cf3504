-- landing_identifiers: the person key of every email and serial number that landing holds
select person_key(email) as value from customer_landing
union
select person_key(serialNumber) from customer_landing
union
select person_key(user) from accelerometer_landing
union
select person_key(serialNumber) from step_trainer_landing
