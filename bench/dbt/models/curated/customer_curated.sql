{{ config(location=env_var('STEDI_DBT_OUT') ~ '/curated/customer_curated/customer_curated.parquet') }}
select *
from {{ ref('customer_trusted') }}
where person_key(email) in (select person_key(user) from {{ ref('accelerometer_trusted') }})
