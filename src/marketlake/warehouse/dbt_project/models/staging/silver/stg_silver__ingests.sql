{#- The bronze manifest (silver.ingests), typed: one row per landed delivery. -#}
with

ingests as (

    select * from {{ source('silver', 'ingests') }}

),

final as (

    select
        cast(ingest_id as {{ dbt.type_string() }}) as ingest_id,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(logical_key as {{ dbt.type_string() }}) as logical_key,
        cast(original_name as {{ dbt.type_string() }}) as original_name,
        cast(landed_at as {{ marketlake.type_timestamp_tz() }}) as landed_at

    from ingests

)

select * from final
