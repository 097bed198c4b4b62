#!/bin/sh
# The core-only test run on other Python versions (`make py-versions`).
#
#   sh scripts/py-versions.sh PIP WHEEL "VERSIONS" "DEPS" TESTS...
#
# For each version X.Y that is installed (pyenv's versions first, then PATH),
# .venv-X.Y holds the built wheel with no extra (so only lucia's core and its
# one dependency) plus the test tools; the core tests run there, the versions in
# parallel. A version that is not installed is skipped with a message, never
# silently. Exits non-zero when any run fails.
set -u
pip=$1 wheel=$2 versions=$3 deps=$4
shift 4
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
ran=""
for v in $versions; do
  py=""
  for c in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v"*/bin/python"$v" 2>/dev/null | sort -V) \
           $(command -v "python$v"); do
    # pyenv's shims exist for every version but fail for the inactive ones.
    "$c" -c '' 2>/dev/null && py=$c && break
  done
  if [ -z "$py" ]; then
    echo "py-versions: Python $v is not installed; its core-only run is SKIPPED"
    continue
  fi
  env=".venv-$v"
  if [ ! -f "$env/.installed" ] || [ pyproject.toml -nt "$env/.installed" ]; then
    # No pip inside (ensurepip is slow): the main environment's pip installs into it.
    # shellcheck disable=SC2086  # $deps is a list of requirements
    "$py" -m venv --without-pip "$env" &&
      $pip --python "$env/bin/python" install --quiet "$wheel" $deps &&
      touch "$env/.installed" || exit 1
  fi
  # This build's wheel, whatever its version string says.
  $pip --python "$env/bin/python" install --quiet --force-reinstall --no-deps "$wheel" || exit 1
  echo "py-versions: core-only tests on $("$env/bin/python" --version)"
  ( "$env/bin/python" -m pytest -q -p no:cacheprovider "$@" >"$logs/$v" 2>&1
    echo $? >"$logs/$v.rc" ) &
  ran="$ran $v"
done
wait
status=0
for v in $ran; do
  echo "--- Python $v:"
  if [ "$(cat "$logs/$v.rc")" = 0 ]; then
    tail -n 1 "$logs/$v"
  else
    cat "$logs/$v"
    status=1
  fi
done
exit $status
