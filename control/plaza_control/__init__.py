"""Plaza control plane: sign-in, allocation, configuration, ops API."""

__version__ = "0.1.0"
