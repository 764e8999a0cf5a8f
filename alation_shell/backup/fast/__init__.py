"""The backup engine's fast paths, each behind the one policy of tuning.py (the plain path is correct alone):

  inplace.py    an incremental's catalog read in place by a forked child (child.py), beside the scan
  lanes.py      a restore's files written on two threads beside the reading thread
  placement.py  a restore's staging tree placed apart on ext4 (FS_TOPDIR_FL)
  removal.py    the replaced trees removed by several threads at once (discard waits overlap)
"""
