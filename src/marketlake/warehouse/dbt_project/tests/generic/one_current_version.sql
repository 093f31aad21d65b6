{#- Fails for every natural key of a type-2 dimension without exactly one current version. -#}
{% test one_current_version(model, natural_key, current) %}

select
    {{ natural_key }},
    count(*) as n_versions,
    sum(case when {{ current }} then 1 else 0 end) as n_current

from {{ model }}
group by {{ natural_key }}
having sum(case when {{ current }} then 1 else 0 end) <> 1

{% endtest %}
