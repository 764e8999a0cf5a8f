"""The registry: typed reads over defaults, all-or-nothing sets, reset."""

from __future__ import annotations

import pytest

from alation_shell.config.registry import Registry
from alation_shell.errors import InvalidValue, UnknownParameter
from alation_shell.instance import Instance


def test_defaults_then_set_then_read(instance: Instance) -> None:
    reg = Registry.for_instance(instance)
    assert reg.get("alation.backup_v2.incr_backup") is False
    reg.set_many([("alation.backup_v2.incr_backup", "True"), ("alation.backup_v2.incr_backup_versions", "4")])
    fresh = Registry.for_instance(instance)
    assert fresh.get("alation.backup_v2.incr_backup") is True
    assert fresh.get("alation.backup_v2.incr_backup_versions") == 4


def test_a_set_with_one_bad_value_changes_nothing(instance: Instance) -> None:
    reg = Registry.for_instance(instance)
    reg.set_many([("alation.backup.scheduled_hour", "3")])
    before = instance.conf_file.read_bytes()
    with pytest.raises(InvalidValue):
        reg.set_many([("alation.backup_v2.incr_backup", "True"), ("alation.backup_v2.incr_backup_versions", "x")])
    with pytest.raises(UnknownParameter):
        reg.set_many([("alation.backup_v2.incr_backup", "True"), ("alation.nope", "1")])
    assert instance.conf_file.read_bytes() == before


def test_setting_the_default_removes_the_line(instance: Instance) -> None:
    reg = Registry.for_instance(instance)
    reg.set_many([("alation.backup_v2.incr_backup", "True")])
    assert reg.changed() == {"alation.backup_v2.incr_backup": True}
    reg.set_many([("alation.backup_v2.incr_backup", "False")])
    assert reg.changed() == {}


def test_reset_and_alias_write_the_canonical_name(instance: Instance) -> None:
    reg = Registry.for_instance(instance)
    reg.set_many([("lineage-service.filters.max_depth", "5")])
    assert reg.changed() == {"lineage_service.filters.max_depth": 5}
    reg.reset(["lineage_service.filters.max_depth"])
    assert reg.changed() == {}
