#!/usr/bin/env bash
# Builds a real nfpm (the deb packager only) from source with Debian bookworm's Go 1.19, so the
# benchmark and test/fixtures/nfpm/record-nfpm.ts can compare debpkg against what nfpm produces.
#
# Why this shape: the Go module proxy is not reachable here, and nfpm's newest go.mod wants Go 1.26.
# v2.36.1 is nfpm's newest tag whose go.mod says `go 1.19`, but v2.41.1 (the version issue 18 was
# measured against; its go.mod says 1.21) compiles with 1.19 too, so that is the default (NFPM_TAG,
# MERGO_REV, CHGLOG_REV choose others). Its deb path needs a dozen modules: most come from
# Debian's golang-*-dev packages (/usr/share/gocode/src), the rest from git
# snapshots of their GitHub repositories at the commit nfpm's go.sum names. It builds in GOPATH
# mode (GO111MODULE=off) over a symlink farm, so no module download or checksum step is involved.
#
# Machine-specific part: the git snapshots are read from /work/.mirror/<owner>+<name>/repo (set
# NFPM_MIRROR to another directory of bare clones named the same way). Where none are reachable the
# script says which repository is missing and exits 2; the benchmark then runs without nfpm.
#
# Two deliberate substitutions, both outside the deb packager's code:
#  - cmd/nfpm pulls cobra, mango, jsonschema and (through chglog's git helpers) go-git; instead a
#    small main.go of ours implements `nfpm package -f CONFIG -p deb -t TARGET` with nfpm's public
#    API exactly as nfpm's internal/cmd/package.go does (ParseFile, Get, WithDefaults, Package).
#  - chglog is built from the four files nfpm uses (types, files, format, templates); its one
#    reference to gitlab.com/digitalxero/go-conventional-commit (a changelog-entry field, not on
#    GitHub) is satisfied by a one-type package that keeps the YAML it is given.
#
# Usage: bash bench/build-nfpm.sh [OUT_BINARY]   (default bench/.bin/nfpm; idempotent)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/.bin/nfpm}"
mirror="${NFPM_MIRROR:-/work/.mirror}"
NFPM_TAG="${NFPM_TAG:-v2.41.1}"
[ -x "$out" ] && { echo "nfpm already built: $out"; exit 0; }

# Debian packages for the modules Debian has (versions close to nfpm's go.sum; the deb path only
# uses long-stable APIs of each)
debs=(golang-go golang-github-aleksi-pointer-dev golang-github-masterminds-semver-dev golang-gopkg-yaml.v3-dev
  golang-github-klauspost-compress-dev golang-github-ulikunitz-xz-dev golang-github-protonmail-go-crypto-dev
  golang-golang-x-exp-dev golang-github-gobwas-glob-dev golang-github-cloudflare-circl-dev
  golang-golang-x-crypto-dev golang-github-masterminds-sprig-dev)
missing=()
for d in "${debs[@]}"; do dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'ok installed' || missing+=("$d"); done
bash "$here/../test/support/apt-install-missing.sh" ${missing[@]+"${missing[@]}"}

# repository (owner+name) and the commit nfpm's go.sum pins
snap() { # snap OWNER+NAME REV DEST: export one revision of a mirrored repository
  local git="$mirror/$1/repo"
  [ -d "$git" ] || { echo "build-nfpm: no snapshot of github.com/${1/+//} under $mirror (fetch it first)" >&2; exit 2; }
  mkdir -p "$3"
  git --git-dir="$git" archive "$2" | tar -x -C "$3"
}

work="$(mktemp -d /var/tmp/build-nfpm.XXXXXX)"
trap 'rm -rf "$work"' EXIT
gp="$work/gopath/src"
snap goreleaser+nfpm "$NFPM_TAG" "$gp/github.com/goreleaser/nfpm/v2"
snap goreleaser+fileglob v1.3.0 "$gp/github.com/goreleaser/fileglob"
snap blakesmith+ar 809d4375e1fb "$gp/github.com/blakesmith/ar"
snap darccio+mergo "${MERGO_REV:-v1.0.1}" "$gp/dario.cat/mergo"
snap goreleaser+chglog "${CHGLOG_REV:-v0.6.1}" "$work/chglog"
mkdir -p "$gp/github.com/goreleaser/chglog"
cp "$work/chglog/"{types,files,format,templates}.go "$gp/github.com/goreleaser/chglog/"

# the changelog-entry field type chglog's types.go names; YAML round-trips through the inline map
mkdir -p "$gp/gitlab.com/digitalxero/go-conventional-commit"
cat >"$gp/gitlab.com/digitalxero/go-conventional-commit/cc.go" <<'EOF'
// Package conventional_commit stands in for the GitLab module chglog names in one struct field.
package conventional_commit

type ConventionalCommit struct {
	Fields map[string]interface{} `yaml:",inline"`
}
EOF

# /vN import paths: Debian installs the v3 modules without the suffix directory
for m in semver sprig; do
  mkdir -p "$gp/github.com/Masterminds/$m"
  ln -s "/usr/share/gocode/src/github.com/Masterminds/$m" "$gp/github.com/Masterminds/$m/v3"
done

# our command: nfpm's `package` subcommand, deb only
mkdir -p "$gp/nfpm-deb"
cp "$here/nfpm-deb-main.go" "$gp/nfpm-deb/main.go"

mkdir -p "$(dirname "$out")"
(cd "$gp/nfpm-deb" && GO111MODULE=off GOPATH="$work/gopath:/usr/share/gocode" GOFLAGS= CGO_ENABLED=0 \
  GOCACHE="${GOCACHE:-$work/cache}" go build -trimpath -o "$out.tmp" .)
mv "$out.tmp" "$out"
echo "built nfpm $NFPM_TAG (deb packager): $out"
