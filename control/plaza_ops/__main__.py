"""``plaza-ops``: the entry point (``python -m plaza_ops`` works too)."""

from __future__ import annotations

from plaza_ops.app import app


def main() -> None:
    app(prog_name="plaza-ops")


if __name__ == "__main__":
    main()
