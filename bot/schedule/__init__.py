"""Who holds the pager when: rotation engine, roster, swaps, covers, calendar, who/shifts JSON."""
