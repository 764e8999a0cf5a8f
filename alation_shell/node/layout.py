"""Where things are in the emulated Alation chroot (SPEC §2): every such path, defined once.

Paths are relative to the instance root (no leading `/`); the shell shows them with one. Plain constants, cheap to
import: the piped one-command path reads some of them.
"""

# The Alation release the emulated server runs (2023.3 is build 17.0.0.49181).
ALATION_RELEASE = "2023.3"
ALATION_BUILD = (17, 0, 0, 49181)

CATALOG_DB = "data1/pgsql/rosemeta.db"  # the catalog database (PostgreSQL's rosemeta, here SQLite)
EVENTBUS_DIR = "data1/eventbus"
SITE_DATA_DIR = "data1/site_data"
UPLOADS_DIR = "data1/site_data/uploads"
LICENSE_FILE = "data1/site_data/config/alation.lic"
SEARCH_DIR = "data1/es"
SEARCH_INDEX_DIR = "data1/es/index"
RESTORE_DIR = "data1/.restore"  # a restore's staging and journal (backup/restore.py)
BACKUP_DIR = "data2/backup"
BACKUP_LOG = "opt/alation/site/logs/alation_backup.log"
SAML_DIR = "opt/alation/site/saml"
VERSION_FILE = "opt/alation/django/main/alation_version.py"
CONF_FILE = "etc/alation/alation_conf.toml"

# Directories of the emulated chroot, made when an instance is created.
LAYOUT = (
    "etc/alation",
    "data1/pgsql",
    EVENTBUS_DIR,
    "data1/site_data/config",
    UPLOADS_DIR,
    SEARCH_DIR,
    BACKUP_DIR,
    "data2/tmp",
    "opt/alation/site/logs",
    SAML_DIR,
    "opt/alation/django/main",
    "home/alationadmin",
    "home/alation",
    "var",
)
