#!/usr/bin/env bash
# Build Khashmir Explorer's one-folder bundle: dist/khgui/, executable dist/khgui/khgui.
#
# Brings its own build dependencies: a virtualenv at build/packaging-venv
# (reused if present; override with KHGUI_BUILD_VENV, the interpreter with
# PYTHON), into which it installs this project with its "package" extra
# (PyInstaller; Qt from PySide6-Essentials only), then runs PyInstaller on
# packaging/khgui.spec.  Works from any directory.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

PYTHON=${PYTHON:-python3}
VENV=${KHGUI_BUILD_VENV:-build/packaging-venv}

if [ ! -x "$VENV/bin/python" ]; then
    echo "+ $PYTHON -m venv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
echo "+ $VENV/bin/python -m pip install '.[package]'"
"$VENV/bin/python" -m pip install --quiet '.[package]'

# The full PySide6 (Addons: WebEngine, Multimedia, 3D...) must not sneak in.
if "$VENV/bin/python" -m pip show --quiet PySide6-Addons >/dev/null 2>&1; then
    echo "packaging/build.sh: PySide6-Addons is installed in $VENV; only PySide6-Essentials is wanted" >&2
    exit 1
fi

echo "+ $VENV/bin/python -m PyInstaller --noconfirm --clean packaging/khgui.spec"
"$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/khgui.spec

exe=dist/khgui/khgui
[ -x "$exe" ] || { echo "packaging/build.sh: $exe was not built" >&2; exit 1; }
du -sh dist/khgui
kib=$(du -sk dist/khgui | cut -f1)
awk -v k="$kib" 'BEGIN { printf "bundle: dist/khgui/ (run dist/khgui/khgui), %.1f MiB unpacked\n", k / 1024 }'

# Without a display (or with Qt's xcb libraries missing) the bundle says why in
# one line and exits 2, as the source app does (khgui/display.py), never 134.
n=90
while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
scratch=$(mktemp -d)
set +e
line=$(QT_QPA_PLATFORM=xcb DISPLAY=":$n" timeout 60 "$exe" --lab 0 --data-dir "$scratch" 2>&1 >/dev/null)
rc=$?
set -e
rm -rf "$scratch"
if [ "$rc" -ne 2 ] || [ "$(printf '%s\n' "$line" | wc -l)" -ne 1 ] || [[ "$line" != khgui:* ]]; then
    echo "packaging/build.sh: the bundle on a missing display exited $rc with: $line" >&2
    exit 1
fi
echo "bundle on a missing display (exit 2): $line"
