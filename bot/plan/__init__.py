"""The setup file: the plan's model, reading oncall.yaml, the plan in force and its reload."""
