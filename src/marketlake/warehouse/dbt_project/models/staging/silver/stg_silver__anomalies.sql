{#- Silver anomalies reported by another system (JSON records in S3), typed. -#}
with

anomalies as (

    select * from {{ source('silver', 'anomalies') }}

),

final as (

    select
        cast(ts_event as {{ marketlake.type_timestamp_tz() }}) as ts_event,
        cast(symbol as {{ dbt.type_string() }}) as symbol,
        cast(kind as {{ dbt.type_string() }}) as anomaly_kind,
        cast(score as {{ marketlake.type_double() }}) as score,
        cast(severity as {{ dbt.type_string() }}) as severity,
        cast(details as {{ dbt.type_string() }}) as details,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(ingest_id as {{ dbt.type_string() }}) as ingest_id,
        cast(quality_flags as {{ dbt.type_string() }}) as quality_flags

    from anomalies

)

select * from final
