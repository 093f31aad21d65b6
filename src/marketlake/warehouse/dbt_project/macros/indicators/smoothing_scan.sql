{#-
    int_daily_bars_smoothed without a recursive CTE, for engines that cap recursion depth.

    Snowflake stops a recursive CTE after MAX_RECURSIONS iterations (100 by default; an
    account-level limit users cannot raise with ALTER SESSION), and the recursive model iterates
    once per trading day (~5,000 for 20 years). Every smoother of that model is a first-order
    linear recurrence with a constant factor a:

        y_i = a * y_(i-1) + b_i,   so   y_i = sum over j <= i of a^(i-j) * b_j

    with b_j the seed on the seeding row, the scaled new value after it, 0 before. The sum is
    computed by doubling (a Hillis-Steele scan over each symbol's day_index): after step s every
    row holds the sum over its last 2^s rows, one lag() per step. After `steps` steps rows more
    than 2^steps back would still be missing, but their weight a^(2^steps) is below 1e-60 for
    the slowest smoother (EMA 26, a = 25/27; 2^11 = 2048 rows): nothing a double can hold, so
    the result equals the recursion's to rounding, whatever the series' length.
-#}

{#-
    Whether int_daily_bars_smoothed is built by this scan instead of its recursive CTE.
    Elsewhere the dbt var `smoothers_by_scan` (default false) chooses, so the scan can be
    checked against the recursion on the same data (tests run both on DuckDB).
-#}
{% macro smoothers_by_scan() -%}
    {{ return(adapter.dispatch('smoothers_by_scan', 'marketlake')()) }}
{%- endmacro %}

{% macro default__smoothers_by_scan() -%}
    {{ return(var('smoothers_by_scan', false) in [true, 'true', 'True', 1]) }}
{%- endmacro %}

{% macro snowflake__smoothers_by_scan() -%}
    {{ return(true) }}
{%- endmacro %}

{#-
    One doubling step over every smoothed column: each value plus a^distance times the value
    `distance` rows earlier (0 before the symbol's first row).
    Args:
        columns: dict column -> SQL expression of its factor a.
        source: the CTE read.
        distance: 2^step.
-#}
{% macro scan_step(columns, source, distance) -%}
    select
        symbol,
        day_index,
        {%- for column, factor in columns.items() %}
        {{ column }} + power({{ factor }}, {{ distance }}) * coalesce(
            lag({{ column }}, {{ distance }}) over (partition by symbol order by day_index), 0
        ) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}

    from {{ source }}
{%- endmacro %}

{#- A running sum of `value` over the symbol's rows up to the current one. -#}
{% macro running_sum(value) -%}
    sum({{ value }}) over (
        partition by symbol order by day_index rows between unbounded preceding and current row
    )
{%- endmacro %}

{#-
    The full query of int_daily_bars_smoothed as scans (same columns, same definitions).
    Args:
        bars: the relation of int_daily_bars_numbered.
        steps: doubling steps (rows summed: 2^steps).
-#}
{% macro smoothed_by_scan(bars, steps=11) -%}
{%- set double = marketlake.type_double() -%}
{%- set change = "(close - prev_close)" -%}
{%- set stage_one = {
    'ema_12': "(1 - " ~ marketlake.ema_alpha(12) ~ ")",
    'ema_20': "(1 - " ~ marketlake.ema_alpha(20) ~ ")",
    'ema_26': "(1 - " ~ marketlake.ema_alpha(26) ~ ")",
    'avg_gain_14': "(cast(13 as " ~ double ~ ") / 14)",
    'avg_loss_14': "(cast(13 as " ~ double ~ ") / 14)",
} -%}
{%- set stage_two = {'macd_signal': "(1 - " ~ marketlake.ema_alpha(9) ~ ")"} -%}
with

bars as (

    select * from {{ bars }}

),

changes as (

    select
        symbol,
        day_index,
        cast(close as {{ double }}) as close,
        case when {{ change }} > 0 then {{ change }} else 0 end as gain,
        case when {{ change }} < 0 then -{{ change }} else 0 end as loss

    from bars

),

seeded as (

    {#- gain and loss are 0 on day 0 (no change yet), so these sums start at day 1. #}
    select
        *,
        {{ marketlake.running_sum('close') }} as close_sum,
        {{ marketlake.running_sum('gain') }} as gain_sum,
        {{ marketlake.running_sum('loss') }} as loss_sum

    from changes

),

{#- b_i of each recurrence: the seed on the seeding row, the scaled value after, 0 before. -#}
terms_0 as (

    select
        symbol,
        day_index,
        {%- for n in [12, 20, 26] %}
        case
            when day_index = {{ n - 1 }} then close_sum / {{ n }}
            when day_index > {{ n - 1 }} then {{ marketlake.ema_alpha(n) }} * close
            else 0
        end as ema_{{ n }},
        {%- endfor %}
        case
            when day_index = 14 then gain_sum / 14
            when day_index > 14 then gain / 14
            else 0
        end as avg_gain_14,
        case
            when day_index = 14 then loss_sum / 14
            when day_index > 14 then loss / 14
            else 0
        end as avg_loss_14

    from seeded

),
{%- for step in range(1, steps + 1) %}

terms_{{ step }} as (

    {{ marketlake.scan_step(stage_one, 'terms_' ~ (step - 1), 2 ** (step - 1)) }}

),
{%- endfor %}

smoothed as (

    select
        symbol,
        day_index,
        case when day_index >= 11 then ema_12 end as ema_12,
        case when day_index >= 19 then ema_20 end as ema_20,
        case when day_index >= 25 then ema_26 end as ema_26,
        case when day_index >= 14 then avg_gain_14 end as avg_gain_14,
        case when day_index >= 14 then avg_loss_14 end as avg_loss_14,
        case when day_index >= 25 then ema_12 - ema_26 end as macd

    from terms_{{ steps }}

),

macd_seeded as (

    select
        *,
        {{ marketlake.running_sum('case when day_index <= 33 then macd end') }} as macd_sum

    from smoothed

),

signal_terms_0 as (

    select
        symbol,
        day_index,
        case
            when day_index = 33 then macd_sum / 9
            when day_index > 33 then {{ marketlake.ema_alpha(9) }} * macd
            else 0
        end as macd_signal

    from macd_seeded

),
{%- for step in range(1, steps + 1) %}

signal_terms_{{ step }} as (

    {{ marketlake.scan_step(stage_two, 'signal_terms_' ~ (step - 1), 2 ** (step - 1)) }}

),
{%- endfor %}

final as (

    select
        smoothed.symbol,
        smoothed.day_index,
        smoothed.ema_12,
        smoothed.ema_20,
        smoothed.ema_26,
        smoothed.avg_gain_14,
        smoothed.avg_loss_14,
        case
            when smoothed.avg_loss_14 = 0 then cast(100 as {{ double }})
            else 100 - 100 / (1 + smoothed.avg_gain_14 / smoothed.avg_loss_14)
        end as rsi_14,
        smoothed.macd,
        case when smoothed.day_index >= 33 then signal.macd_signal end as macd_signal,
        smoothed.macd
        - case when smoothed.day_index >= 33 then signal.macd_signal end as macd_histogram

    from smoothed
    inner join signal_terms_{{ steps }} as signal
        on
            smoothed.symbol = signal.symbol
            and smoothed.day_index = signal.day_index

)

select * from final
{%- endmacro %}
