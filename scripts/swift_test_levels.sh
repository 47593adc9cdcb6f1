#!/usr/bin/env bash
# The Swift engine's tests once per x86-64 level this CPU runs: plain `swift test` builds for the x86-64 baseline;
# the v3 and v4 builds use their -target-cpu (setup.py's LEVEL_TARGET_CPUS, as the wheel's engines do) and scratch
# directories of their own, .build-test-<level>. So the engine's own vector loops are checked as each shipped build
# compiles them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
swift test
levels=$(.venv/bin/python -c "import swiftgan; print(' '.join(swiftgan.cpu_features()['supported']))")
for level in $levels; do
    [ "$level" = baseline ] && continue
    cpu=$(.venv/bin/python - "$level" <<'PY'
import ast, sys
tree = ast.parse(open("setup.py").read())
table = next(node.value for node in tree.body if isinstance(node, ast.Assign)
             and getattr(node.targets[0], "id", "") == "LEVEL_TARGET_CPUS")
print(ast.literal_eval(table)[sys.argv[1]])
PY
)
    echo "swift test, engine level $level (-target-cpu $cpu):"
    swift test --scratch-path ".build-test-$level" -Xswiftc -target-cpu -Xswiftc "$cpu"
done
