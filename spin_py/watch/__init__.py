"""`spin-py watch`: rebuild what changed and swap the new app in, on the same port.

`plan` (what to watch in a manifest, what a change means), `live` (generations swapped on one
listener), `session` (the build / load / swap cycles). See docs/development.md.
"""

from spin_py.watch.session import WatchSettings, run_watch

__all__ = ["WatchSettings", "run_watch"]
