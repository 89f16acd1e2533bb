"""`<id:name>` in our URL patterns: a database id, or no match (a 404) for anything else.

Django's `<int:...>` takes any run of digits, and a number past 64 bits then reaches the database: SQLite's
driver raises OverflowError on it (a 500), and a run of over 4,300 digits is more than Python's int() will
even read. Ids are BigAutoField values, 1 to 2**63 - 1, so the pattern refuses the rest before any view runs.

Registered when this module is imported: each urls.py using `<id:...>` imports it.
"""

from django.urls import register_converter

MAX_ID = 2**63 - 1  # the largest BigAutoField value, on every database we run on


class DatabaseId:
    regex = "[0-9]{1,19}"  # 19 digits hold MAX_ID; a longer run is no id, and is never converted at all

    def to_python(self, value):
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(f"{value} is no database id")  # Django reads ValueError as "no match"
        return number

    def to_url(self, value):
        return str(value)


register_converter(DatabaseId, "id")
