"""The commands of plaza-ops, one module per area of the ops API."""
