"""Plaza control plane."""
