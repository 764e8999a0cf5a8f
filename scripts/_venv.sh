# Sourced by scripts/shell and scripts/test: make .venv if missing, (re)install the project when
# pyproject.toml changed since the last install, then put .venv/bin first on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "setting up $venv (first run, or pyproject.toml changed; about a minute)..." >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    # pyproject.toml's package-dir makes this editable install a plain .pth to the checkout.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[test]" >&2
    rm -f "$venv"/.installed-*
    touch "$stamp"
    echo "ready" >&2
fi
export PATH="$venv/bin:$PATH"
