#!/usr/bin/env bash
# The project's whole test suite, from a fresh machine: installs the test oracle (ExifTool,
# Debian package libimage-exiftool-perl) when it is missing, installs aiglabel with its test
# extras from PyPI, then runs ruff, mypy (strict on src/) and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v exiftool >/dev/null 2>&1; then
  echo "test.sh: installing exiftool (libimage-exiftool-perl) as the interop oracle" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libimage-exiftool-perl >/dev/null
fi

python -m pip install -q --disable-pip-version-check -e '.[test]'
python -m ruff check .
python -m mypy
python -m pytest -q "$@"
