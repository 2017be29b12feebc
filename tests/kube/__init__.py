"""Tests against a real kube-apiserver and kube-controller-manager (see apiserver.py)."""
