{#-
    A surrogate key: md5 of the fields cast to text, joined with '|', nulls replaced by a
    sentinel (so ('a', null) and (null, 'a') get different keys, and a null never nulls the key).
    Args:
        field_list: column names or SQL expressions.
-#}
{% macro surrogate_key(field_list) -%}
    {{ return(adapter.dispatch('surrogate_key', 'marketlake')(field_list)) }}
{%- endmacro %}

{% macro default__surrogate_key(field_list) -%}
    {%- set parts = [] -%}
    {%- for field in field_list -%}
        {%- do parts.append(
            "coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_marketlake_null_')"
        ) -%}
    {%- endfor -%}
    md5({{ parts | join(" || '|' || ") }})
{%- endmacro %}
