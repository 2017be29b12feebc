"""plaza-ops: the command-line client of the Plaza ops API (/v1/ops)."""
