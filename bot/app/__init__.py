"""Running the bot: settings, factory, services, serve, cli, logs, doctor, reload, the sandbox."""
