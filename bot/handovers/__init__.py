"""Shift handovers: planning and posting them, and the weekly digest."""
