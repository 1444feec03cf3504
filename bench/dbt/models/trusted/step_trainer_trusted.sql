{{ config(location=env_var('STEDI_DBT_OUT') ~ '/trusted/step_trainer_trusted/step_trainer_trusted.parquet') }}
with unconsented_claims as (
    select person_key(c.serialNumber) as serialNumber
    from {{ ref('customer_landing') }} c
    left join {{ ref('customer_trusted') }} t on person_key(c.email) = person_key(t.email)
    where c.serialNumber is not null
      and t.email is null
)
select s.*
from {{ ref('step_trainer_landing') }} s
where person_key(s.serialNumber) in (select person_key(serialNumber) from {{ ref('customer_curated') }})
  and not exists (select 1 from unconsented_claims u where u.serialNumber = person_key(s.serialNumber))
