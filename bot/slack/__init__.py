"""What the bot says to Slack: outbox delivery, errors, signatures, users, Block Kit builders."""
