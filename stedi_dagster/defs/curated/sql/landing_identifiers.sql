-- landing_identifiers: every email and serial number that landing holds
select email as value from customer_landing
union
select serialNumber from customer_landing
union
select user from accelerometer_landing
union
select serialNumber from step_trainer_landing
