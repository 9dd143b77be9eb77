#!/usr/bin/env bash
# Print the path of a working Python 3.10 for Rasa's environment (Rasa 3.6 needs < 3.11).
# Order: $RASA_PYTHON, then python3.10 on PATH (if it really runs), then pyenv's versions folder.
set -euo pipefail

works() { [ -n "$1" ] && "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }

if [ -n "${RASA_PYTHON:-}" ]; then
  if works "$RASA_PYTHON"; then echo "$RASA_PYTHON"; exit 0; fi
  echo "RASA_PYTHON=$RASA_PYTHON is not a working Python 3.10." >&2
  exit 1
fi
if command -v python3.10 >/dev/null 2>&1 && works python3.10; then
  command -v python3.10; exit 0
fi
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for candidate in $(ls -d "$root"/versions/3.10*/bin/python3.10 2>/dev/null | sort -V -r); do
  if works "$candidate"; then echo "$candidate"; exit 0; fi
done
cat >&2 <<'MSG'
No Python 3.10 found. Rasa 3.6 needs Python 3.8-3.10. Either:
  - install one with pyenv:   pyenv install 3.10.13   (then re-run make setup), or
  - point RASA_PYTHON at any Python 3.10 binary:   make setup RASA_PYTHON=/path/to/python3.10, or
  - run the whole stack in containers instead:   docker compose up
MSG
exit 1
