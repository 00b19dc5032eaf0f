#!/usr/bin/env bash
# Runs `ansible-test sanity` on a copy of the checkout laid out as .../ansible_collections/infn/cloud
# (ansible-test needs a real directory there, and its symlinks test would reject a tree of links),
# with the offline pip bootstrap in place. The copy sits outside the checkout: inside it,
# ansible-test would find the checkout's git and skip the (ignored) copy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPO=$(cd "$TESTBED_DIR/../.." && pwd)
# One copy per checkout: two checkouts' runs at once must not remove each other's tree.
DEST=${TMPDIR:-/tmp}/infn-cloud-sanity-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)/ansible_collections/infn/cloud

pip_version=$(python3 - <<'PY'
import pathlib, re, ansible_test
source = (pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", source).group(1))
PY
)
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cmp -s "$TESTBED_DIR/ansible-test-get-pip.py" "$cache" || cp "$TESTBED_DIR/ansible-test-get-pip.py" "$cache"

rm -rf "$DEST" "$DEST/../../community"
mkdir -p "$DEST"
# What git tracks plus new files it does not ignore: the tree as it will be committed.
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | tar -xf - -C "$DEST"
# The collections our plugins build on (infn.cloud.podman_nsenter extends community.docker's
# nsenter connection) sit beside it, as they do in the `ansible` package that ships them.
python3 - "$DEST/../.." <<'PY'
import pathlib, shutil, sys
import ansible_collections.community.docker as docker
shutil.copytree(pathlib.Path(docker.__path__[0]), pathlib.Path(sys.argv[1]) / "community/docker", dirs_exist_ok=True)
PY
cd "$DEST"
exec ansible-test sanity --python 3.11 --local --color "$@"
