"""`spin-py up -c/--component-id`: keep only the selected components of an app.

As Spin does: every id must name a component of the manifest (else a `ConfigError` listing the
components there are); the triggers of components not selected are dropped, so their routes are
neither served (a request is a 404, as for any unknown path) nor listed. Static-response triggers
run no component and are kept. Nothing is selected when `component_ids` is empty: the app is
returned as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from spin_py.errors import ConfigError
from spin_py.manifest.model import App


def retain_components(app: App, component_ids: Collection[str]) -> App:
    """`app` with only the components in `component_ids` and the triggers that use them."""
    if not component_ids:
        return app
    unknown = [cid for cid in component_ids if cid not in app.components]
    if unknown:
        known = ", ".join(f'"{cid}"' for cid in app.components) or "none"
        raise ConfigError(
            f'component "{unknown[0]}" given to --component-id is not in the application '
            f"{app.manifest_path} (components: {known})"
        )
    wanted = set(component_ids)
    return dataclasses.replace(
        app,
        triggers=tuple(t for t in app.triggers if t.component is None or t.component in wanted),
        components={cid: c for cid, c in app.components.items() if cid in wanted},
    )
