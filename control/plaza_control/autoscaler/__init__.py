"""The relay autoscaler (docs/autoscaler.md, decisions/011): policy, Kubernetes
edge, reconciler, wiring."""
