{#-
    Technical indicators of each symbol's daily closes, one row per symbol and session date.
    Windows count trading days (the symbol's own rows), not calendar days; a windowed value is
    null until its window is full. Definitions are in the model's YAML description.
-#}
with

bars as (

    select * from {{ ref('int_daily_bars_numbered') }}

),

smoothed as (

    select * from {{ ref('int_daily_bars_smoothed') }}

),

returns as (

    select
        *,
        close / prev_close - 1 as simple_return,
        ln(close / prev_close) as log_return

    from bars

),

windowed as (

    {#- Closes are never null and returns exist from day_index 1, so whether a window is full
        follows from day_index; volumes can be missing and are counted. -#}
    {%- set before_20 = marketlake.rows_before_current(20) %}
    {%- set volumes_full = "count(volume) " ~ before_20 ~ " = 20" %}
    select
        *,
        {% for n in [20, 30, 50, 200] -%}
        {{ marketlake.full_window(
            'avg', 'close', marketlake.rows_through_current(n), 'day_index >= ' ~ (n - 1)) }}
            as sma_{{ n }},
        {% endfor -%}
        {% for n in [20, 252] -%}
        {{ marketlake.full_window(
            'stddev_samp', 'log_return', marketlake.rows_through_current(n),
            'day_index >= ' ~ n) }}
            as log_return_std_{{ n }}d,
        {% endfor -%}
        {{ marketlake.full_window('avg', 'close', before_20, 'day_index >= 20') }}
            as close_mean_prev_20d,
        {{ marketlake.full_window('stddev_samp', 'close', before_20, 'day_index >= 20') }}
            as close_std_prev_20d,
        {{ marketlake.full_window('avg', 'simple_return', before_20, 'day_index >= 21') }}
            as simple_return_mean_prev_20d,
        {{ marketlake.full_window('stddev_samp', 'simple_return', before_20, 'day_index >= 21') }}
            as simple_return_std_prev_20d,
        {{ marketlake.full_window('avg', 'volume', before_20, volumes_full) }}
            as volume_mean_prev_20d,
        {{ marketlake.full_window('stddev_samp', 'volume', before_20, volumes_full) }}
            as volume_std_prev_20d

    from returns

),

final as (

    select
        {{ marketlake.surrogate_key(['windowed.symbol', 'windowed.session_date']) }}
            as indicator_key,
        windowed.symbol,
        windowed.session_date,
        windowed.day_index,
        windowed.open,
        windowed.close,
        windowed.prev_close,
        windowed.volume,
        windowed.simple_return,
        windowed.log_return,
        windowed.log_return_std_20d * sqrt(252) as volatility_20d,
        windowed.log_return_std_252d * sqrt(252) as volatility_252d,
        (windowed.close - windowed.close_mean_prev_20d)
        / nullif(windowed.close_std_prev_20d, 0) as close_zscore_20d,
        (windowed.volume - windowed.volume_mean_prev_20d)
        / nullif(windowed.volume_std_prev_20d, 0) as volume_zscore_20d,
        (windowed.simple_return - windowed.simple_return_mean_prev_20d)
        / nullif(windowed.simple_return_std_prev_20d, 0) as return_zscore_20d,
        windowed.volume / nullif(windowed.volume_mean_prev_20d, 0) as volume_ratio_20d,
        windowed.sma_20,
        windowed.sma_30,
        windowed.sma_50,
        windowed.sma_200,
        smoothed.ema_12,
        smoothed.ema_20,
        smoothed.ema_26,
        smoothed.rsi_14,
        smoothed.macd,
        smoothed.macd_signal,
        smoothed.macd_histogram

    from windowed
    inner join smoothed
        on
            windowed.symbol = smoothed.symbol
            and windowed.day_index = smoothed.day_index

)

select * from final
