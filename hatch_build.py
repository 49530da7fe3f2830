"""Build hook: the wheel carries the web UI's npm ``cometd`` package (``smsdesk/web/node_modules/cometd``).

The package is never committed: it is installed from ``smsdesk/web/package-lock.json`` by ``npm ci`` at build
time (unless the version the lock file names is installed already, e.g. by ``make web-deps``) and added to the
wheel where ``smsdesk/web/routes.py`` looks for it. Building a wheel needs npm; installing it does not.
Editable installs (``pip install -e``) skip this: they serve ``node_modules`` from the source tree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "cometd"


class WebAssetsHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        web = Path(self.root) / "smsdesk" / "web"
        package_dir = web / "node_modules" / PACKAGE
        wanted = _locked_version(web / "package-lock.json")
        if _installed_version(package_dir) != wanted:
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError(
                    f"building the smsdesk wheel needs npm: it installs the web UI's '{PACKAGE}' package "
                    "(smsdesk/web/package-lock.json) into the wheel"
                )
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=web, check=True)
            if _installed_version(package_dir) != wanted:
                raise RuntimeError(f"npm ci did not install {PACKAGE} {wanted} into {package_dir}")
        build_data["force_include"][str(package_dir)] = f"smsdesk/web/node_modules/{PACKAGE}"


def _locked_version(lock_file: Path) -> str:
    lock = json.loads(lock_file.read_text(encoding="utf-8"))
    version: str = lock["packages"][f"node_modules/{PACKAGE}"]["version"]
    return version


def _installed_version(package_dir: Path) -> str | None:
    try:
        manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    return version if isinstance(version, str) else None
