{#-
    Fails for every row whose column does not match the regular expression `pattern`
    (e.g. bar intervals: a count and a unit). Nulls pass: combine with not_null.
-#}
{% test matches_pattern(model, column_name, pattern) %}

select * from {{ model }}
where {{ column_name }} is not null
    and not {{ marketlake.regexp_like(column_name, pattern) }}

{% endtest %}
