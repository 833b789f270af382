"""The embedded sandbox: moto + an overlay for what moto lacks, a controller, health endpoints.

Only the `sandbox`, `demo` and `drill` commands import this package; it needs the `sandbox`
extra (moto[server]).
"""

from __future__ import annotations


def require_moto() -> None:
    """Raise a clear BadInput if the sandbox extra is not installed."""
    try:
        import moto
        import moto.server  # noqa: F401
    except ImportError:
        from hybridops.errors import BadInput

        raise BadInput(
            "the sandbox needs the 'sandbox' extra",
            hint="pip install 'hybridops[sandbox]'",
        ) from None
