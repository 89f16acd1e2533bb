# One way of writing dates everywhere, for readers and for staff: the story page, the story lists, the
# handout, the republish box and the admin's pages all print `|date` (DATE_FORMAT) or `|date:"DATETIME_FORMAT"`
# (`date_format()` in Python), so no page says "December 6, 2026" in one place and "6 Dec 2026" in another.
# A time always names its zone: readers and partners are not all in the newsroom's.
DATE_FORMAT = "F j, Y"
DATETIME_FORMAT = "F j, Y, g:i a T"
