"""What every package runs on: the clock, the Prometheus metrics, the workers' loop of rounds."""
