"""The exception tree of spin-py.

SpinPyError                 base of every error spin-py raises on purpose
├── ManifestError           the manifest cannot be read or is invalid (names file, key, line)
├── ConfigError             CLI-level configuration is invalid (bad flag value, busy port, ...)
├── BuildError              a component's build command failed
└── ComponentLoadError      a component cannot be loaded, compiled or linked at startup

Errors shown to users are printed as their message, without a traceback.
"""


class SpinPyError(Exception):
    """Base class of every error spin-py raises on purpose."""


class ManifestError(SpinPyError):
    """The manifest cannot be read or is invalid."""


class ConfigError(SpinPyError):
    """A CLI-level setting is invalid."""


class BuildError(SpinPyError):
    """A component's build command failed."""


class ComponentLoadError(SpinPyError):
    """A component cannot be loaded, compiled or linked."""
