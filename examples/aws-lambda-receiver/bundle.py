"""What the Lambda function's code archive holds: handler.py plus the receiver kit, nothing else.

Kept apart from `__main__.py` so the bundle can be built and checked without any cloud SDK.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

import bandwidth_provider

HERE = Path(__file__).resolve().parent
KIT_DIR = Path(bandwidth_provider.__file__).resolve().parent
#: The webhooks module and its pure-Python siblings. Neither Pulumi nor requests is needed at run
#: time; lxml comes from the layer.
KIT_MODULES = (
    "__init__.py",
    "catalog.py",
    "display.py",
    "errors.py",
    "spec.py",
    "wire.py",
    "webhooks/__init__.py",
    "webhooks/adapters.py",
    "webhooks/duplicates.py",
    "webhooks/receiver.py",
)


def function_code() -> pulumi.AssetArchive:
    """handler.py at the archive root, the kit under bandwidth_provider/ (Lambda imports from the root)."""
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {"handler.py": pulumi.FileAsset(str(HERE / "handler.py"))}
    for module in KIT_MODULES:
        assets[f"bandwidth_provider/{module}"] = pulumi.FileAsset(str(KIT_DIR / module))
    return pulumi.AssetArchive(assets)
