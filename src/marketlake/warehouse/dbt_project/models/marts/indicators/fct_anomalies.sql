{#-
    Explainable anomalies of the daily series: one row per symbol, session date and rule that
    fired, with the measured value, the threshold (dbt vars anomaly_*, from GoldSettings) and a
    sentence saying why. Rules are in the model's YAML description.
-#}
{%- set return_z = marketlake.anomaly_threshold('return_z') -%}
{%- set volume_ratio = marketlake.anomaly_threshold('volume_ratio') -%}
{%- set gap = marketlake.anomaly_threshold('gap') -%}
{%- set stale_days = marketlake.anomaly_threshold('stale_days') -%}
with

indicators as (

    select * from {{ ref('fct_indicators_daily') }}

),

changes as (

    select
        symbol,
        session_date,
        day_index,
        close,
        case when prev_close is null or close <> prev_close then 1 else 0 end as is_change

    from indicators

),

runs as (

    select
        *,
        sum(is_change) over (
            partition by symbol order by day_index rows between unbounded preceding and current row
        ) as run_id

    from changes

),

stale as (

    select
        symbol,
        session_date,
        close,
        -- The run starts with a changed close; every later row of it is an unchanged close.
        row_number() over (partition by symbol, run_id order by day_index) - 1 as unchanged_closes

    from runs

),

return_zscore as (

    select
        symbol,
        session_date,
        'return_zscore' as rule_id,
        return_zscore_20d as measured_value,
        cast({{ return_z }} as {{ marketlake.type_double() }}) as threshold,
        'Return of ' || {{ marketlake.format_number('simple_return * 100') }}
        || '% is ' || {{ marketlake.format_number('abs(return_zscore_20d)') }}
        || ' standard deviations ' || case when return_zscore_20d > 0 then 'above' else 'below' end
        || ' the mean of the previous 20 sessions (threshold '
        || {{ marketlake.format_number(return_z) }} || ').' as explanation

    from indicators
    where abs(return_zscore_20d) >= {{ return_z }}

),

volume_spike as (

    select
        symbol,
        session_date,
        'volume_spike' as rule_id,
        volume_ratio_20d as measured_value,
        cast({{ volume_ratio }} as {{ marketlake.type_double() }}) as threshold,
        'Volume of ' || {{ marketlake.format_number('volume', 0) }}
        || ' is ' || {{ marketlake.format_number('volume_ratio_20d') }}
        || ' times the average of the previous 20 sessions (threshold '
        || {{ marketlake.format_number(volume_ratio) }} || ').' as explanation

    from indicators
    where volume_ratio_20d >= {{ volume_ratio }}

),

gap as (

    select
        symbol,
        session_date,
        'gap' as rule_id,
        open / prev_close - 1 as measured_value,
        cast({{ gap }} as {{ marketlake.type_double() }}) as threshold,
        'Opened at ' || {{ marketlake.format_number('open', 4) }}
        || ', ' || {{ marketlake.format_number('abs(open / prev_close - 1) * 100') }}
        || '% ' || case when open > prev_close then 'above' else 'below' end
        || ' the previous close of ' || {{ marketlake.format_number('prev_close', 4) }}
        || ' (threshold ' || {{ marketlake.format_number(gap ~ ' * 100') }} || '%).'
            as explanation

    from indicators
    where abs(open / prev_close - 1) >= {{ gap }}

),

stale_price as (

    select
        symbol,
        session_date,
        'stale_price' as rule_id,
        cast(unchanged_closes as {{ marketlake.type_double() }}) as measured_value,
        cast({{ stale_days }} as {{ marketlake.type_double() }}) as threshold,
        'Close of ' || {{ marketlake.format_number('close', 4) }}
        || ' unchanged for ' || cast(unchanged_closes as {{ dbt.type_string() }})
        || ' consecutive sessions (threshold ' || cast({{ stale_days }} as {{ dbt.type_string() }})
        || ').' as explanation

    from stale
    where unchanged_closes >= {{ stale_days }}

),

fired as (

    select * from return_zscore
    union all
    select * from volume_spike
    union all
    select * from gap
    union all
    select * from stale_price

),

final as (

    select
        {{ marketlake.surrogate_key(['symbol', 'session_date', 'rule_id']) }} as anomaly_key,
        symbol,
        session_date,
        rule_id,
        measured_value,
        threshold,
        explanation

    from fired

)

select * from final
