{{ config(location=env_var('STEDI_DBT_OUT') ~ '/trusted/accelerometer_trusted/accelerometer_trusted.parquet') }}
select a.*
from {{ ref('accelerometer_landing') }} a
join {{ ref('customer_trusted') }} c on person_key(a.user) = person_key(c.email)
