{#-
    Windows over each symbol's trading days, spelled out on every call (Snowflake has no
    WINDOW clause).
-#}

{#-
    The last `n` rows of the symbol up to and including the current one.
    Args:
        n: number of rows.
        order_by: the column numbering the symbol's rows.
-#}
{% macro rows_through_current(n, order_by='day_index') -%}
    over (
        partition by symbol order by {{ order_by }}
        rows between {{ n - 1 }} preceding and current row
    )
{%- endmacro %}

{#-
    The `n` rows of the symbol before the current one (the current row left out), so a value
    is measured against a history it did not take part in.
-#}
{% macro rows_before_current(n, order_by='day_index') -%}
    over (
        partition by symbol order by {{ order_by }}
        rows between {{ n }} preceding and 1 preceding
    )
{%- endmacro %}

{#-
    An aggregate over a window, null unless `full_when` (a SQL condition saying the window
    holds all its values) is true.
    Args:
        aggregate: the aggregate function's name (avg, stddev_samp...).
        value: SQL expression aggregated.
        window: the rendered `over (...)` clause.
        full_when: SQL condition, e.g. `day_index >= 19` for a never-null value, or a count.
-#}
{% macro full_window(aggregate, value, window, full_when) -%}
    case when {{ full_when }} then {{ aggregate }}({{ value }}) {{ window }} end
{%- endmacro %}
