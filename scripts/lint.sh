#!/usr/bin/env bash
# The project's Swift in the one style of .swift-format (swift-nio's, with one rule relaxed: a
# closure argument before a trailing closure, as in `guarded.user(spec, user: { $0.userID }) { ... }`).
# Generated code is left as its generators write it. `scripts/lint.sh --fix` formats in place.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked and new (untracked, not ignored) files alike.
mapfile -t FILES < <(git ls-files --cached --others --exclude-standard '*.swift' | grep -v '/Generated/')
if [[ "${1:-}" == "--fix" ]]; then
  swift format format --in-place --parallel "${FILES[@]}"
fi
swift format lint --strict --parallel "${FILES[@]}"
echo "swift format lint: ${#FILES[@]} files clean" >&2
