{#-
    A relationship to a type-2 dimension in time: fails for every row whose key is missing from
    the dimension, belongs to another natural key, or names a version not valid at the row's
    time. A version is valid from valid_from (inclusive; the first version also before it) to
    valid_to (exclusive; null while current).

    Args:
        column_name: the foreign key (symbol_key).
        to: the dimension (ref('dim_symbol')).
        field: its key column.
        natural_key: the natural key on both sides (symbol).
        at: the row's time column (ts_event).
-#}
{% test valid_version_at(model, column_name, to, field, natural_key, at,
                         valid_from='valid_from', valid_to='valid_to',
                         version_number='version_number') %}

with

facts as (

    select * from {{ model }}
    where {{ column_name }} is not null

),

versions as (

    select * from {{ to }}

),

checked as (

    select
        facts.{{ column_name }} as fact_key,
        facts.{{ natural_key }} as fact_natural_key,
        facts.{{ at }} as fact_time,
        versions.{{ field }} as version_key

    from facts
    left join versions
        on facts.{{ column_name }} = versions.{{ field }}
        and facts.{{ natural_key }} = versions.{{ natural_key }}
        and (facts.{{ at }} >= versions.{{ valid_from }} or versions.{{ version_number }} = 1)
        and (facts.{{ at }} < versions.{{ valid_to }} or versions.{{ valid_to }} is null)

)

select * from checked
where version_key is null

{% endtest %}
