{#-
    What a table read one day_index per recursion step needs to be read quickly: DuckDB skips
    storage blocks by their min/max, which the table's day_index order makes tight (nothing to
    add); PostgreSQL needs a b-tree on the join keys, or every step scans the whole table.
    Used as a post-hook; an empty hook is not run.
    Args:
        relation: the table (`this`).
-#}
{% macro recursion_index(relation) -%}
    {{ return(adapter.dispatch('recursion_index', 'marketlake')(relation)) }}
{%- endmacro %}

{% macro default__recursion_index(relation) -%}
{%- endmacro %}

{% macro postgres__recursion_index(relation) -%}
    create index if not exists {{ relation.identifier }}__symbol_day_index
        on {{ relation }} (symbol, day_index)
{%- endmacro %}
