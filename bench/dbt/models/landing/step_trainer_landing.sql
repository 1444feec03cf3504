{{ config(location=env_var('STEDI_DBT_OUT') ~ '/landing/step_trainer_landing/step_trainer_landing.parquet') }}
select * from {{ landing_json('step_trainer', "{sensorReadingTime: 'BIGINT', serialNumber: 'VARCHAR', distanceFromObject: 'INTEGER'}") }}
