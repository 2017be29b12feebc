"""Repositories: the only code that touches MongoDB or Redis.

``base`` states the contracts; ``memory`` implements them in process (unit tests,
conformance reference); ``mongo`` and ``redis`` are the real ones. The same
conformance tests run against both (control/tests/test_repositories.py).
"""
