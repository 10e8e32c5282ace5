"""The timm entrypoints :func:`hwnas.export.register_timm_model` creates live here (timm files each
registered model under its entrypoint's module)."""

__all__: list[str] = []
