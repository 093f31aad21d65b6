{#-
    The recursive indicators of each symbol's daily closes, one row per symbol and day_index:
    EMA 12, 20 and 26, Wilder's average gain and loss over 14 changes and RSI(14), MACD(12, 26, 9).

    One recursive CTE carries every state at once and advances all symbols together, one
    day_index per step (a symbol drops out when its series ends). Each step reads only the rows
    of the next day_index of int_daily_bars_numbered, which is stored in day_index order. The
    bars table is joined directly rather than through an import CTE: an engine may materialise
    a CTE without the table's block statistics, and every step would then scan all of it.

    Definitions (FORMATS.md), with i the day_index and x_i the close:
    - EMA(n): k = 2 / (n + 1); at i = n - 1 the mean of x_0..x_{n-1}; then k * x_i + (1 - k) * EMA_{i-1}.
    - Gains and losses of the changes d_i = x_i - x_{i-1} (i >= 1): max(d_i, 0) and max(-d_i, 0).
      avg_gain_14 / avg_loss_14: at i = 14 the mean of the first 14; then (previous * 13 + value) / 14.
    - MACD = EMA12 - EMA26 from i = 25; signal = EMA9 of MACD, seeded at i = 33 with the mean
      of the first 9 MACD values (i = 25..33); histogram = MACD - signal.
    - RSI(14) = 100 - 100 / (1 + avg_gain_14 / avg_loss_14), and 100 when avg_loss_14 = 0.
    The seeds' sums run in index order, as a plain loop adds them.
-#}
{%- set bar = ref('int_daily_bars_numbered') -%}
{%- set position = "bar.day_index" -%}
{%- set close_sum = marketlake.seed_sum_step("bar.close", "prev.close_sum", position, 0, 25) -%}
{%- set change = "(bar.close - bar.prev_close)" -%}
{%- set gain = "case when " ~ change ~ " > 0 then " ~ change ~ " else 0 end" -%}
{%- set loss = "case when " ~ change ~ " < 0 then -" ~ change ~ " else 0 end" -%}
{%- set gain_sum = marketlake.seed_sum_step(gain, "prev.gain_sum", position, 1, 14) -%}
{%- set loss_sum = marketlake.seed_sum_step(loss, "prev.loss_sum", position, 1, 14) -%}
{%- set ema_12 = marketlake.ema_step(12, "bar.close", "prev.ema_12", close_sum, position) -%}
{%- set ema_26 = marketlake.ema_step(26, "bar.close", "prev.ema_26", close_sum, position) -%}
{%- set macd = "(" ~ ema_12 ~ ") - (" ~ ema_26 ~ ")" -%}
{%- set macd_sum = marketlake.seed_sum_step(macd, "prev.macd_sum", position, 25, 33) -%}
{#- Snowflake caps recursion depth: the same smoothers as scans (smoothing_scan.sql). -#}
{%- if marketlake.smoothers_by_scan() %}
{{ marketlake.smoothed_by_scan(bar) }}
{%- else %}
with recursive

smoothed as (

    select
        bar.symbol,
        bar.day_index,
        bar.close as close_sum,
        cast(null as {{ marketlake.type_double() }}) as gain_sum,
        cast(null as {{ marketlake.type_double() }}) as loss_sum,
        cast(null as {{ marketlake.type_double() }}) as ema_12,
        cast(null as {{ marketlake.type_double() }}) as ema_20,
        cast(null as {{ marketlake.type_double() }}) as ema_26,
        cast(null as {{ marketlake.type_double() }}) as avg_gain_14,
        cast(null as {{ marketlake.type_double() }}) as avg_loss_14,
        cast(null as {{ marketlake.type_double() }}) as macd,
        cast(null as {{ marketlake.type_double() }}) as macd_sum,
        cast(null as {{ marketlake.type_double() }}) as macd_signal

    from {{ bar }} as bar
    where bar.day_index = 0

    union all

    select
        bar.symbol,
        bar.day_index,
        {{ close_sum }} as close_sum,
        {{ gain_sum }} as gain_sum,
        {{ loss_sum }} as loss_sum,
        {{ ema_12 }} as ema_12,
        {{ marketlake.ema_step(20, "bar.close", "prev.ema_20", close_sum, position) }} as ema_20,
        {{ ema_26 }} as ema_26,
        {{ marketlake.wilder_step(14, gain, "prev.avg_gain_14", gain_sum, position) }}
            as avg_gain_14,
        {{ marketlake.wilder_step(14, loss, "prev.avg_loss_14", loss_sum, position) }}
            as avg_loss_14,
        case when {{ position }} >= 25 then {{ macd }} end as macd,
        {{ macd_sum }} as macd_sum,
        {{ marketlake.ema_step(9, macd, "prev.macd_signal", macd_sum, position, offset=25) }}
            as macd_signal

    from smoothed as prev
    inner join {{ bar }} as bar
        on
            bar.symbol = prev.symbol
            and bar.day_index = prev.day_index + 1

),

final as (

    select
        symbol,
        day_index,
        ema_12,
        ema_20,
        ema_26,
        avg_gain_14,
        avg_loss_14,
        case
            when avg_loss_14 = 0 then cast(100 as {{ marketlake.type_double() }})
            else 100 - 100 / (1 + avg_gain_14 / avg_loss_14)
        end as rsi_14,
        macd,
        macd_signal,
        macd - macd_signal as macd_histogram

    from smoothed

)

select * from final
{%- endif %}
