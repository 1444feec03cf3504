{{ config(location=env_var('STEDI_DBT_OUT') ~ '/landing/accelerometer_landing/accelerometer_landing.parquet') }}
select * from {{ landing_json('accelerometer', "{user: 'VARCHAR', timestamp: 'BIGINT', x: 'DOUBLE', y: 'DOUBLE', z: 'DOUBLE'}") }}
