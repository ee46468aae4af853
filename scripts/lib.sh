# Shared by scripts/demo and scripts/test: a virtual environment in .venv with Kvorum installed,
# and the browser's third-party modules (npm, pinned) built into web/static/vendor/.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2; return 1
    fi
}

apt_install() {
    # Debian/Ubuntu packages, installed only when missing.
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing system packages: ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "Kvorum needs Python 3.11 or newer" >&2
    return 1
}

document_packages() {
    # WeasyPrint lays documents out with Pango; DejaVu gives the Cyrillic serif the
    # documents are set in; poppler-utils (pdftotext, pdftoppm) reads them back in tests.
    apt_install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fonts-dejavu-extra "$@"
}

postgres_client() {
    # pg_dump, pg_restore and psql: `kvorum backup` and `kvorum restore` of a PostgreSQL
    # database, and their tests. Debian puts them on the PATH through postgresql-client.
    command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v psql >/dev/null ||
        apt_install postgresql-client
}

ensure_venv() {
    local extras="$1" python stamp want
    if [ ! -x "$VENV/bin/python" ]; then
        python="$(find_python)"
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv
            "$python" -m venv "$VENV"
        fi
        "$VENV/bin/pip" install -q --upgrade pip
    fi
    # Reinstall only when the dependencies changed.
    stamp="$VENV/.kvorum-installed"
    want="$(sha256sum <"$ROOT/pyproject.toml" | cut -d" " -f1)-$extras"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        "$VENV/bin/pip" install -q -e "$ROOT${extras:+[$extras]}"
        echo "$want" >"$stamp"
    fi
}

ensure_vendor() {
    # The pages' one third-party module, @noble/curves (with @noble/hashes), comes from the
    # npm registry at the versions and integrity hashes of package-lock.json (`npm ci`
    # refuses a tarball whose hash differs); scripts/vendor.mjs bundles it with esbuild
    # into web/static/vendor/noble.js and refuses to write a bundle whose SHA-256 is not
    # the one committed in scripts/vendor.sha256. No package's install script is run.
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        apt_install nodejs npm
    fi
    local stamp="$ROOT/node_modules/.kvorum-installed" want
    want="$(sha256sum <"$ROOT/package-lock.json" | cut -d" " -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        (cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
        echo "$want" >"$stamp"
    fi
    node "$ROOT/scripts/vendor.mjs"
}
