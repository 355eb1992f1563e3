#!/usr/bin/env bash
# Create a virtual environment for dynaxx-neuro and install the package with its test extra.
#   tools/make_venv.sh VENV_DIR [PYTHON_VERSION]   (version 3.10 by default: lava-nc needs it)
# The interpreter is found as pythonX.Y on PATH, through pyenv, or through uv.
set -euo pipefail
venv=${1:?usage: tools/make_venv.sh VENV_DIR [PYTHON_VERSION]}
want=${2:-3.10}

is_wanted() { "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" 2>/dev/null; }

find_python() {
  local candidate
  for candidate in "python$want" \
      $(command -v pyenv >/dev/null 2>&1 && ls -d "$(pyenv root)/versions/$want".*/bin/python"$want" 2>/dev/null | sort -V | tail -n 1); do
    if command -v "$candidate" >/dev/null 2>&1 && is_wanted "$candidate"; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v uv >/dev/null 2>&1; then
    uv python install "$want" >/dev/null 2>&1 || true
    candidate=$(uv python find "$want" 2>/dev/null || true)
    if [ -n "$candidate" ] && is_wanted "$candidate"; then echo "$candidate"; return 0; fi
  fi
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  if ! python=$(find_python); then
    echo "error: no Python $want found (tried python$want on PATH, pyenv and uv); install Python $want, e.g. 'pyenv install $want' or 'uv python install $want'." >&2
    exit 1
  fi
  echo "creating $venv with $python"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e ".[dev]"
