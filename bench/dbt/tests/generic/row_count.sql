{% test row_count(model, table) %}
-- fails (returns a row) when the model's count differs from the generator's expectation
select n from (select count(*) as n from {{ model }}) where n <> {{ var('expected')[table] }}
{% endtest %}
