{#-
    Fails for every bar whose prices are inconsistent: low above open or close, high below
    open or close, or low above high. Column names default to open/high/low/close.
-#}
{% test ohlc_consistent(model, open='open', high='high', low='low', close='close') %}

select *
from {{ model }}
where {{ low }} > {{ high }}
    or {{ low }} > {{ open }}
    or {{ low }} > {{ close }}
    or {{ open }} > {{ high }}
    or {{ close }} > {{ high }}

{% endtest %}
