"""The algorithm contract both halves import: errors, paths, declarations, the registry, the interface."""
