"""The backup engine: Backup V2 with incremental cycles, Backup V1, verify and restore."""
