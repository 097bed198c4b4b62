#!/bin/sh
# Mutation testing of lucia's security core with mutmut (`make mutation`; not part of `make test`).
#
#   sh scripts/mutation.sh [MODULE...]    MODULE: passwords csrf cookies sessions redirects replay
#
# Each module is mutated alone and checked against its own fast unit tests only, in a
# scratch copy of the tree (.mutation/<module>/, ignored), so a run takes minutes and
# never touches the working tree. mutmut lives in its own venv (.venv-mutation): it
# must not leak into .venv. Hypothesis runs with a fixed seed so the score is the same
# from one run to the next. Prints killed/total per module and the surviving mutants
# (`cd .mutation/<module> && ../../.venv-mutation/bin/mutmut show <name>` shows one).
# The mutants judged equivalent are listed, with the reason, in
# scripts/mutation-equivalent.txt; the method and the figures are in docs/security.md.
set -euf  # -f: the mutant name patterns below are not file globs

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv-mutation"
PYTHON=${PYTHON:-python3}
WORK="$ROOT/.mutation"
# What is measured: a commit (HEAD by default), plus working-tree files named in
# MUTATION_OVERLAY (space-separated paths) while a test is being written.
# Resolved once, so every module of a run is measured at the same commit.
REF=$(git -C "$ROOT" rev-parse --verify "${MUTATION_REF:-HEAD}^{commit}")
OVERLAY=${MUTATION_OVERLAY:-}

if [ ! -x "$VENV/bin/mutmut" ] || [ "$ROOT/pyproject.toml" -nt "$VENV/.installed" ]; then
    test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
    # lucia's own dependencies (the oauth extra for the flow) and the test tools;
    # mutmut puts the mutated copy of src/ first on sys.path, ahead of this install.
    "$VENV/bin/python" -m pip install --quiet "mutmut>=3.8,<4" "$ROOT[oauth]" \
        "pytest>=8.0" "pytest-asyncio>=1.1,<2" "pytest-timeout>=2.3" "hypothesis>=6.100"
    touch "$VENV/.installed"
fi

# The redirect tests of the flow's own test file (the rest of it runs whole sign-ins).
FLOW_SEC29="tests/oauth/test_flow.py::test_sec29_unsafe_next_goes_to_the_default
 tests/oauth/test_flow.py::test_sec29_same_origin_paths_are_kept
 tests/oauth/test_flow.py::test_sec29_non_strings_and_unsafe_defaults
 tests/oauth/test_flow.py::test_sec29_safe_next_fuzz
 tests/oauth/test_flow.py::test_sec29_safe_next_fuzz_with_tricky_pieces"
FLOW_SEC29=$(echo $FLOW_SEC29)

# module -> file to mutate | tests to run | mutant names (fnmatch; * for all)
spec() {
    case "$1" in
        passwords) echo "src/lucia/passwords.py|tests/test_passwords.py|*" ;;
        csrf) echo "src/lucia/csrf.py|tests/test_csrf.py|*" ;;
        cookies) echo "src/lucia/cookies.py|tests/test_cookies.py tests/test_duplicate_cookies.py|*" ;;
        sessions) echo "src/lucia/sessions.py|tests/test_sessions.py|*" ;;
        # Less the import test, whose subprocess would import the installed lucia.
        redirects) echo "src/lucia/redirects.py|tests/test_security_redirects.py $FLOW_SEC29 --deselect=tests/test_security_redirects.py::test_redirects_import_neither_the_oauth_package_nor_its_http_and_jose_libraries|*" ;;
        replay) echo "src/lucia/oauth/replay.py|tests/oauth/test_replay_cache.py|*" ;;
        *) echo "unknown module: $1 (passwords csrf cookies sessions redirects replay)" >&2; exit 2 ;;
    esac
}

[ $# -gt 0 ] || set -- passwords csrf cookies sessions redirects replay
echo "mutation testing at commit $REF${OVERLAY:+ with $OVERLAY from the working tree}"

for module in "$@"; do
    IFS='|' read -r target tests names <<EOF
$(spec "$module")
EOF
    dir="$WORK/$module"
    rm -rf "$dir"
    mkdir -p "$dir"
    # A commit, not the working tree: the score belongs to code someone can check out.
    git -C "$ROOT" archive "$REF" src tests pyproject.toml | tar -x -C "$dir"
    for file in $OVERLAY; do cp "$ROOT/$file" "$dir/$file"; done
    {
        echo "[mutmut]"
        echo "source_paths = src/lucia"
        echo "only_mutate = $target"
        echo "pytest_add_cli_args_test_selection ="
        for t in $tests; do
            # A test file the measured commit does not have yet is left out.
            case "$t" in
                -*) echo "    $t" ;;
                *) if [ -e "$dir/${t%%::*}" ]; then echo "    $t"; else echo "(no $t in $REF)" >&2; fi ;;
            esac
        done
        echo "pytest_add_cli_args ="
        echo "    -p"
        echo "    no:cacheprovider"
        echo "    --hypothesis-seed=0"
        echo "    -q"
        # MUTATION_DEBUG=1: mutmut shows each pytest run's output.
        [ -z "${MUTATION_DEBUG:-}" ] || echo "debug = true"
    } >"$dir/setup.cfg"
    echo "== $module: mutating $target against $tests"
    # shellcheck disable=SC2086 # $names is a list of patterns on purpose
    (cd "$dir" && "$VENV/bin/mutmut" run --max-children 2 $names >mutmut-run.log 2>&1) || {
        tail -30 "$dir/mutmut-run.log"
        exit 1
    }
    (cd "$dir" && "$VENV/bin/python" "$ROOT/scripts/mutation_score.py" "$module" $names)
done
