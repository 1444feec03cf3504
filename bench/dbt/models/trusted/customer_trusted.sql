{{ config(location=env_var('STEDI_DBT_OUT') ~ '/trusted/customer_trusted/customer_trusted.parquet') }}
select *
from {{ ref('customer_landing') }}
where person_key(email) is not null
qualify row_number() over (
            partition by person_key(email)
            order by lastUpdateDate desc nulls last,
                     coalesce(shareWithResearchAsOfDate, 0) <> 0,
                     serialNumber
        ) = 1
    and coalesce(shareWithResearchAsOfDate, 0) <> 0
