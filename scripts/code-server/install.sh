#!/usr/bin/env bash
# Installs what the real-VS-Code tests need: Debian's chromium (driven by playwright-core) and
# code-server (a real VS Code: browser workbench + Node extension host) from the npm registry.
# Usage: install.sh [--no-browser]. Idempotent: a second run with everything present does nothing and takes about a second.
# Everything lands in $DLA_TOOLS_DIR (default: <repo>/.tools, gitignored), never in the project's
# node_modules or the home folder. See ../shared/notes/real-vscode-testing.md for the measured facts.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TOOLS="${DLA_TOOLS_DIR:-$ROOT/.tools}"
CS_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
CS_DIR="$TOOLS/code-server"
CS_BIN="$CS_DIR/node_modules/code-server/out/node/entry.js"
APT_PACKAGES=(build-essential python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep)
# --no-browser (npm start): code-server only; the tests' Chromium is not needed to serve.
[ "${1:-}" = "--no-browser" ] || APT_PACKAGES=(chromium "${APT_PACKAGES[@]}")

log() { echo "[install-code-server] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "Need root (or sudo) to run: $*"; exit 1
  fi
}

# --- Debian packages -------------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages present."
fi

# --- code-server -----------------------------------------------------------------------------
installed_version() {
  [ -f "$CS_DIR/node_modules/code-server/package.json" ] &&
    node -p "require('$CS_DIR/node_modules/code-server/package.json').version" 2>/dev/null || true
}
# The postinstall builds lib/vscode/node_modules last; its ripgrep binary proves it finished.
complete() { [ -x "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]; }

if [ "$(installed_version)" = "$CS_VERSION" ] && complete; then
  log "code-server $CS_VERSION present in $CS_DIR."
  exit 0
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != 20 ]; then
  log "code-server $CS_VERSION needs Node 20 (its postinstall refuses others); this is Node $node_major."
  exit 1
fi

mkdir -p "$CS_DIR"
work="$(mktemp -d "$TOOLS/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable here) unless it finds
# ${TMPDIR}/vscode-ripgrep-cache-<version>/ripgrep-<tag>-<target>.tar.gz. Read the version that
# code-server's shrinkwrap pins and the tag that version's postinstall asks for, then put Debian's
# rg into a tarball at exactly that path. Only the npm registry is contacted.
(cd "$work" && npm pack --silent "code-server@$CS_VERSION" >/dev/null && tar xzf "code-server-$CS_VERSION.tgz" \
  package/lib/vscode/npm-shrinkwrap.json)
rg_version="$(node -p "require('$work/package/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep'].version")"
(cd "$work" && npm pack --silent "@vscode/ripgrep@$rg_version" >/dev/null && mkdir rgpkg &&
  tar xzf "vscode-ripgrep-$rg_version.tgz" -C rgpkg)
rg_tag="$(sed -n "s/^const VERSION = '\(.*\)';.*/\1/p" "$work/rgpkg/package/lib/postinstall.js")"
case "$(uname -m)" in
  x86_64) rg_target=x86_64-unknown-linux-musl ;;
  aarch64) rg_target=aarch64-unknown-linux-musl ;;
  *) log "No ripgrep cache recipe for $(uname -m)."; exit 1 ;;
esac
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR/vscode-ripgrep-cache-$rg_version" "$work/rgbin"
cp "$(command -v rg)" "$work/rgbin/rg"
tar czf "$TMPDIR/vscode-ripgrep-cache-$rg_version/ripgrep-$rg_tag-$rg_target.tar.gz" -C "$work/rgbin" rg
log "ripgrep cache: @vscode/ripgrep $rg_version, $rg_tag, $rg_target (Debian's rg)."

# A private package.json makes $CS_DIR its own npm project, untouched by the repo's lockfile.
[ -f "$CS_DIR/package.json" ] || echo '{ "name": "dla-lens-tools", "private": true }' >"$CS_DIR/package.json"
log "npm install code-server@$CS_VERSION (about 70 s) ..."
start=$(date +%s)
# --unsafe-perm: as root, code-server's postinstall refuses to run without it.
# npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which would otherwise prompt.
# onnxruntime-node-install is irrelevant here but harmless; the repo's .npmrc is not read from $CS_DIR.
(cd "$CS_DIR" && npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm \
  "code-server@$CS_VERSION" >"$TOOLS/code-server-install.log" 2>&1) || {
  log "npm install failed; the last lines of $TOOLS/code-server-install.log:"
  tail -30 "$TOOLS/code-server-install.log"
  exit 1
}
complete || { log "code-server installed but its ripgrep is missing; see $TOOLS/code-server-install.log."; exit 1; }
log "code-server $(installed_version) installed in $(( $(date +%s) - start )) s: $CS_BIN"
