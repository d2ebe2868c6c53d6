"""The outbox's delivery worker: claiming rows, what each posts, posting once, floods."""
