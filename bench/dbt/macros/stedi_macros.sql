{# DuckDB macros the models use: the person key (the project's expression, privacy/identity.py,
   passed as a var) and the pseudonym (HMAC-SHA256 under the development key, whose pads are
   written out). #}
{% macro stedi_macros() %}
create or replace macro person_key(value) as {{ var("person_key") }};
create or replace macro pseudonym(value) as
    left(sha256(unhex('{{ var("hmac_outer") }}') || unhex(sha256(unhex('{{ var("hmac_inner") }}') || encode(person_key(value))))), 32);
{% endmacro %}

{% macro landing_json(dataset, columns) %}
read_json('{{ env_var("STEDI_DBT_LANDING") }}/{{ dataset }}/landing/*.json', format = 'newline_delimited', columns = {{ columns }})
{% endmacro %}
