"""What the tests and the checks of `make lint` share."""
