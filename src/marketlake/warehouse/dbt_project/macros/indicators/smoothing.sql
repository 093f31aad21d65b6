{#-
    One step of the recursive smoothers of int_daily_bars_smoothed, written out as expressions
    so a single recursion can carry every state at once (a recursive reference may not sit in a
    subquery on PostgreSQL, so later states repeat the expressions of earlier ones).
-#}

{#-
    An EMA of `value` over `n` rows, k = 2 / (n + 1): at row `n - 1 + offset` it is seeded with
    the simple mean of the first n values (`seed_sum`, the running sum of those values, divided
    by n), after that it is k * value + (1 - k) * previous.
    Args:
        n: the EMA's length.
        value: SQL expression of the row's value.
        previous: SQL expression of the EMA on the previous row.
        seed_sum: SQL expression of the sum of the first n values, valid on the seeding row.
        position: SQL expression of the row's index.
        offset: index of the first value (0 for closes, 25 for MACD).
-#}
{% macro ema_step(n, value, previous, seed_sum, position, offset=0) -%}
    case
        when {{ position }} = {{ n - 1 + offset }} then ({{ seed_sum }}) / {{ n }}
        when {{ position }} > {{ n - 1 + offset }}
            then {{ marketlake.ema_alpha(n) }} * ({{ value }})
                + (1 - {{ marketlake.ema_alpha(n) }}) * ({{ previous }})
    end
{%- endmacro %}

{#- k = 2 / (n + 1), as a double on every engine. -#}
{% macro ema_alpha(n) -%}
    (cast(2 as {{ marketlake.type_double() }}) / {{ n + 1 }})
{%- endmacro %}

{#-
    Wilder's average of `value` over `n` rows whose first value is at index 1 (price changes):
    at index n the simple mean of the first n values, after that (previous * (n - 1) + value) / n.
-#}
{% macro wilder_step(n, value, previous, seed_sum, position) -%}
    case
        when {{ position }} = {{ n }} then ({{ seed_sum }}) / {{ n }}
        when {{ position }} > {{ n }} then (({{ previous }}) * {{ n - 1 }} + ({{ value }})) / {{ n }}
    end
{%- endmacro %}

{#- A running sum of `value` from index `first` to index `last`, null outside. -#}
{% macro seed_sum_step(value, previous, position, first, last) -%}
    case
        when {{ position }} = {{ first }} then {{ value }}
        when {{ position }} > {{ first }} and {{ position }} <= {{ last }}
            then ({{ previous }}) + ({{ value }})
    end
{%- endmacro %}
