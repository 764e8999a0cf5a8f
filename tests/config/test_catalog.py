"""The parameter catalog: completeness against the reference, types and validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alation_shell.config.catalog import DAYS, MASK, Catalog, catalog
from alation_shell.errors import InvalidValue, UnknownParameter

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "alation-shell.md"


def reference_parameters() -> set[str]:
    """Every parameter named in the table of reference §3a."""
    text = REFERENCE.read_text()
    table = text.split("### 3a. Confirmed parameter names", 1)[1].split("###", 1)[0]
    names = set()
    for row in table.splitlines():
        cells = row.split("|")
        if len(cells) > 2 and cells[1].strip().isdigit():
            names.update(re.findall(r"`([A-Za-z0-9_.\-]+)`", cells[2]))
    return names


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/reference not beside the checkout")
def test_every_reference_parameter_is_in_the_catalog() -> None:
    names = reference_parameters()
    assert len(names) >= 46
    missing = sorted(n for n in names if n not in catalog())
    assert missing == []


def test_seed_parameters_and_defaults() -> None:
    cat = catalog()
    assert cat.lookup("alation.backup_v2.incr_backup").default is False
    assert cat.lookup("alation.backup_v2.incr_backup_versions").default == 0
    assert cat.lookup("alation.backup_v2.incr_backup").restart is None
    assert cat.lookup("alation.backup.scheduled_hour").restart == "supervisord"
    assert cat.lookup("alation.backup.chef_timeout").default == 21600
    assert cat.lookup("alation.backup.data_temp_dir").default == "/data2/tmp"
    assert cat.lookup("alation.cluster.replication_mode").default == "standalone"
    assert len(cat) >= 48


def test_every_parameter_has_description_and_a_valid_default() -> None:
    for param in catalog().parameters:
        assert param.description.strip(), param.name
        # The default must round-trip through the parser (it is what --reset writes back).
        assert param.parse(param.format(param.default) if param.type != "secret" else "") == (
            param.default if param.type != "secret" else ""
        )


@pytest.mark.parametrize("raw", ["True", "true", "TRUE", " True "])
def test_bool_accepts_true_in_any_case(raw: str) -> None:
    assert catalog().lookup("alation.backup_v2.incr_backup").parse(raw) is True


@pytest.mark.parametrize("raw", ["yes", "1", "", "Truee"])
def test_bool_rejects_other_words(raw: str) -> None:
    with pytest.raises(InvalidValue, match="expected True or False"):
        catalog().lookup("alation.backup_v2.incr_backup").parse(raw)


def test_int_errors_name_parameter_value_and_expectation() -> None:
    versions = catalog().lookup("alation.backup_v2.incr_backup_versions")
    with pytest.raises(InvalidValue) as exc:
        versions.parse("four")
    assert exc.value.message == (
        "invalid value 'four' for alation.backup_v2.incr_backup_versions: expected a whole number (0 or more)"
    )
    with pytest.raises(InvalidValue, match="from 0 to 23"):
        catalog().lookup("alation.backup.scheduled_hour").parse("24")
    assert catalog().lookup("alation.backup.scheduled_hour").parse("09") == 9


def test_days_are_normalised_to_week_order() -> None:
    day = catalog().lookup("alation.backup.scheduled_day")
    assert day.parse("sat,tue") == "tue,sat"
    assert day.parse("Tue, SAT,tue") == "tue,sat"
    assert day.parse("monday") == "mon"
    for bad in ("", "tue,,sat", "tues", "tue sat"):
        with pytest.raises(InvalidValue, match="comma list of days"):
            day.parse(bad)
    assert day.value_suggestions()[1:] == DAYS


def test_enum_path_url_and_secret() -> None:
    cat = catalog()
    assert cat.lookup("alation.cluster.replication_mode").parse("PRIMARY") == "primary"
    with pytest.raises(InvalidValue, match="one of standalone, primary, secondary"):
        cat.lookup("alation.cluster.replication_mode").parse("leader")
    restore = cat.lookup("alation.backup.restore_file")
    assert restore.parse("/data2/backup/x.tar.gz") == "/data2/backup/x.tar.gz"
    with pytest.raises(InvalidValue, match="absolute path"):
        restore.parse("backup.tar.gz")
    url = cat.lookup("alation.install.base_url")
    assert url.parse("https://alation.example.com") == "https://alation.example.com"
    with pytest.raises(InvalidValue):
        url.parse("alation.example.com")
    secret = cat.lookup("alation.email.email_password")
    assert secret.format(secret.parse("s3cret")) == MASK
    with pytest.raises(InvalidValue):
        cat.lookup("alation.email.host").parse("two\nlines")


def test_lookup_aliases_and_search() -> None:
    cat = catalog()
    assert cat.lookup("lineage-service.filters.max_depth") is cat.lookup("lineage_service.filters.max_depth")
    assert [p.name for p in cat.search("incr_backup")] == [
        "alation.backup_v2.incr_backup",
        "alation.backup_v2.incr_backup_versions",
    ]
    assert [p.name for p in cat.search("base_url")] == ["alation.install.base_url"]


def test_unknown_names_suggest_close_matches() -> None:
    with pytest.raises(UnknownParameter) as exc:
        catalog().lookup("alation.backup_v2.incr_backup_verions")
    assert "did you mean alation.backup_v2.incr_backup_versions" in exc.value.message
    with pytest.raises(UnknownParameter, match="--list"):
        catalog().lookup("zzzzzzzz")


def test_catalog_rejects_duplicates_and_unknown_restarts() -> None:
    spec = {"name": "a.b", "type": "bool", "default": False, "description": "d"}
    from alation_shell.config.catalog import Parameter

    with pytest.raises(ValueError, match="duplicate"):
        Catalog([Parameter(spec), Parameter(spec)], {})
    with pytest.raises(ValueError, match="unknown restart"):
        Catalog([Parameter({**spec, "restart": "nope"})], {})
