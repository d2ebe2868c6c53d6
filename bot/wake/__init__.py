"""Waking the person paged: wake-up methods (Apprise URLs), the message, the sending worker and
the acknowledge links' tokens."""
