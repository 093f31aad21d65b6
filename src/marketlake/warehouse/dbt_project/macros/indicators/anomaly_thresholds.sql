{#-
    The threshold of an anomaly rule: the dbt var `anomaly_<name>` (marketlake passes
    settings.warehouse.gold's values), else the default, equal to GoldSettings' default.
    Args:
        name: return_z, volume_ratio, gap or stale_days.
-#}
{% macro anomaly_threshold(name) -%}
    {%- set defaults = {
        'return_z': 4.0,
        'volume_ratio': 5.0,
        'gap': 0.10,
        'stale_days': 5,
    } -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("unknown anomaly threshold: " ~ name) }}
    {%- endif -%}
    {{ return(var('anomaly_' ~ name, defaults[name])) }}
{%- endmacro %}

{#-
    A number as text with `scale` decimals, the same on every engine (for explanations).
-#}
{% macro format_number(value, scale=2) -%}
    cast(cast({{ value }} as decimal(38, {{ scale }})) as {{ dbt.type_string() }})
{%- endmacro %}
