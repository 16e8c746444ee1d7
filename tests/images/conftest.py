def pytest_collection_modifyitems(config, items):
    """Deselect (not skip) the heavy smoke cases an algorithm's smoke.yaml does not ask for."""
    keep, drop = [], []
    for item in items:
        wanted = getattr(item.module, "wanted", None) if hasattr(item, "module") else None
        (keep if wanted is None or wanted(item) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
