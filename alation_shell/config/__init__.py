"""Configuration: the parameter catalog (data), the store (alation_conf.toml) and the registry over both."""
