"""Waking the person paged: wake-up methods (Apprise URLs), when to wake, the sending worker and
the acknowledge links' tokens."""
