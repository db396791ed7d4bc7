"""Channel plug-ins, one sub-package per kind of network."""
