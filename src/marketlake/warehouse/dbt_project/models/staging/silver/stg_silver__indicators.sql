{#- Silver technical indicators delivered by another system (JSON records in S3), typed. -#}
with

indicators as (

    select * from {{ source('silver', 'indicators') }}

),

final as (

    select
        cast(ts_event as {{ marketlake.type_timestamp_tz() }}) as ts_event,
        cast(symbol as {{ dbt.type_string() }}) as symbol,
        cast({{ adapter.quote('interval') }} as {{ dbt.type_string() }}) as bar_interval,
        cast(name as {{ dbt.type_string() }}) as indicator_name,
        cast(value as {{ marketlake.type_double() }}) as indicator_value,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(ingest_id as {{ dbt.type_string() }}) as ingest_id,
        cast(quality_flags as {{ dbt.type_string() }}) as quality_flags

    from indicators

)

select * from final
