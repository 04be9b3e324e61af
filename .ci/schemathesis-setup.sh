# Sourced by .ci/schemathesis.sh and .ci/schemathesis-corpus.sh (not run on its own): the tools both
# need, Schemathesis pinned in its own venv (shared by both), and the specbox binary to test.
# Expects ROOT (the repository) and SCRIPT (the caller's name, for messages); sets VENV, PY, ST, BIN.

SCHEMATHESIS_VERSION=4.32.5
VENV="$ROOT/.venv-schemathesis"

for tool in python3 cargo curl timeout; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$SCRIPT: $tool is required" >&2; exit 2; }
done

# --- Schemathesis, pinned, in its own venv -------------------------------------------------------------
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  echo "== installing schemathesis==$SCHEMATHESIS_VERSION into ${VENV#"$ROOT"/}"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
PY="$VENV/bin/python"
ST="$VENV/bin/schemathesis"

# --- specbox ----------------------------------------------------------------------------------------------
# SPECBOX_BIN: a specbox binary to test (.ci/run passes the one `cargo test` just built, which
# saves a second, release, build of every dependency). Without it the release binary is built.
if [ -n "${SPECBOX_BIN:-}" ]; then
  BIN="$SPECBOX_BIN"
  echo "== testing $BIN"
else
  echo "== cargo build --release"
  cargo build --release
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  BIN="$TARGET_DIR/release/specbox"
fi
