"""The emulated Alation server: its chroot layout, seed, catalog, activity, clock, supervisord and search index."""
