"""Repositories: the only code outside ``events/`` that touches MongoDB or Redis.

``base`` states the contracts the services see; ``mongo`` and ``redis`` (and
``identity``, the issuer's JWKS over HTTP) are the implementations. The
in-memory fakes of the service unit tests live with the tests
(control/tests/memory.py) and are held to these implementations by the
conformance suites control/tests/test_repositories.py and
control/tests/test_allocator.py, run against both.
"""
