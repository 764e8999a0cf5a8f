"""The registry: current values of every parameter (catalog defaults overlaid with the store)."""

from __future__ import annotations

from alation_shell.config.catalog import Catalog, Parameter, catalog
from alation_shell.config.store import ConfigStore, Values
from alation_shell.instance import VAR_CONF_CACHE


class Registry:
    """Typed reads and all-or-nothing writes of `alation_conf` parameters on one instance."""

    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self.catalog: Catalog = store.catalog

    @classmethod
    def for_instance(cls, instance) -> Registry:  # noqa: ANN001 - Instance, kept untyped to avoid an import cycle
        store = ConfigStore(
            instance.conf_file,
            catalog(),
            cache=instance.var / VAR_CONF_CACHE,
            shown_as="/etc/alation/alation_conf.toml",
        )
        return cls(store)

    def changed(self) -> Values:
        """Values that differ from their defaults, by name."""
        return self.store.load()

    def get(self, name: str) -> bool | int | str:
        """The current value of `name` (or an alias)."""
        param = self.catalog.lookup(name)
        return self.changed().get(param.name, param.default)

    def set_many(self, pairs: list[tuple[str, str]]) -> list[tuple[Parameter, bool | int | str]]:
        """Parse and set every `(name, raw value)` pair, or none of them if any is unknown or invalid."""
        parsed: list[tuple[Parameter, bool | int | str]] = []
        for name, raw in pairs:
            param = self.catalog.lookup(name)
            parsed.append((param, param.parse(raw)))

        def apply(values: Values) -> Values:
            for param, value in parsed:
                if value == param.default:
                    values.pop(param.name, None)
                else:
                    values[param.name] = value
            return values

        self.store.update(apply)
        return parsed

    def reset(self, names: list[str]) -> list[Parameter]:
        """Put parameters back to their defaults (all-or-nothing on unknown names)."""
        params = [self.catalog.lookup(name) for name in names]

        def apply(values: Values) -> Values:
            for param in params:
                values.pop(param.name, None)
            return values

        self.store.update(apply)
        return params
