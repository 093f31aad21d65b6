{#-
    Silver information-driven and time bars (silver `bars_info`), typed, one row per bar.

    Every series (symbol x kind x threshold x source) is written whole by one bars run, which
    replaces its own files, so no delivery preference is needed here (unlike stg_silver__bars). Files written before the
    `complete` flag existed count as complete: their writer only emitted closed bars.
-#}
with

bars_info as (

    select * from {{ source('silver', 'bars_info') }}

),

final as (

    select
        cast(symbol as {{ dbt.type_string() }}) as symbol,
        cast(kind as {{ dbt.type_string() }}) as kind,
        cast(threshold as {{ marketlake.type_double() }}) as threshold,
        cast(ts_start as {{ marketlake.type_timestamp_tz() }}) as ts_start,
        cast(ts_end as {{ marketlake.type_timestamp_tz() }}) as ts_end,
        cast(open as {{ marketlake.type_double() }}) as open,
        cast(high as {{ marketlake.type_double() }}) as high,
        cast(low as {{ marketlake.type_double() }}) as low,
        cast(close as {{ marketlake.type_double() }}) as close,
        cast(volume as {{ marketlake.type_double() }}) as volume,
        cast(dollar_value as {{ marketlake.type_double() }}) as dollar_value,
        cast(vwap as {{ marketlake.type_double() }}) as vwap,
        cast(tick_count as {{ dbt.type_bigint() }}) as tick_count,
        coalesce(cast(complete as {{ dbt.type_boolean() }}), true) as is_complete,
        cast(bar_threshold as {{ marketlake.type_double() }}) as bar_threshold,
        cast(source as {{ dbt.type_string() }}) as source

    from bars_info

)

select * from final
