"""The HTTP edge: routes translate HTTP to service calls and back, nothing else.

``bodies``: request and response bodies (msgspec, unknown fields refused);
``deps``: dependencies and guards; ``problems``: the one place errors become
problem-details responses. One module per surface: ``players`` (sign-in, join),
``ops`` (all of ``/v1/ops``), ``chat`` (chat history), ``system`` (health,
readiness, metrics, JWKS).
"""
