"""Running the bot: settings, app factory, services, serve, cli, logs, metrics, clock, doctor."""
