{#-
    Fails for every row where the boolean SQL expression is false (null passes: combine with
    not_null where a null would be wrong).
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select * from {{ model }}
where not ({{ expression }})

{% endtest %}
