# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the TOSCA tests find their templates.

OWN (``tosca_corpus/`` beside this file) is part of the project: the tests always run over it.
SHARED (``../shared/corpus/tosca`` beside the checkout, read-only) holds real templates of other
TOSCA tools; a clone has no ../shared, so it is an extra the tests add when it is there.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from tests.common import REPO

OWN = Path(__file__).resolve().parent / "tosca_corpus"
SHARED = REPO.parent / "shared" / "corpus" / "tosca"
HAVE_SHARED = (SHARED / "MANIFEST.tsv").is_file()

INDIGO_BRANCHES = ("master", "devel", "v4.0.0", "add-ek")


def _indigo_urls(path: Path) -> dict:
    return {
        f"https://raw.githubusercontent.com/indigo-dc/tosca-types/{branch}/custom_types.yaml": str(path)
        for branch in INDIGO_BRANCHES
    }


# The URL INDIGO-style templates import INDIGO's types by, sent to the own corpus's small copy.
OWN_IMPORT_MAP = _indigo_urls(OWN / "indigo_custom_types.yaml")
# The URLs the shared corpus imports INDIGO's and grycap's types by, sent to its copies, as the
# corpus's own notes did for tosca-parser and Puccini.
SHARED_IMPORT_MAP = {
    **_indigo_urls(SHARED / "indigo-dc+tosca-types" / "custom_types.yaml"),
    "https://raw.githubusercontent.com/grycap/tosca/main/custom_types.yaml": str(
        SHARED / "grycap+tosca" / "custom_types.yaml"
    ),
}


@dataclass(frozen=True)
class Template:
    """One file of a corpus and how to read it."""

    key: str  # own/<folder>/<file> or <owner>+<repo>/<path>, the test id
    path: Path
    import_map: dict
    row: dict | None = None  # the shared MANIFEST.tsv row

    def __repr__(self) -> str:
        return self.key

    def expected(self) -> list:
        """The problems an own invalid template says it gets (its `# expect:` lines)."""
        return re.findall(r"^# expect: (.+)$", self.path.read_text(encoding="utf-8"), re.MULTILINE)


def own(folder: str) -> list:
    """The own corpus's templates in folder (valid, invalid) or, with "", every YAML file."""
    base = OWN / folder if folder else OWN
    paths = sorted(base.rglob("*.yaml"))
    return [Template(f"own/{path.relative_to(OWN)}", path, OWN_IMPORT_MAP) for path in paths]


def shared_manifest() -> list:
    """The shared corpus's MANIFEST.tsv rows (TOSCA.meta files left out); [] when it is absent."""
    if not HAVE_SHARED:
        return []
    with open(SHARED / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row for row in rows if not row["path"].endswith("TOSCA.meta")]


def shared_key(row: dict) -> str:
    return f"{row['repo'].replace('/', '+')}/{row['path']}"


def shared(rows: list) -> list:
    return [Template(shared_key(row), SHARED / shared_key(row), SHARED_IMPORT_MAP, row) for row in rows]


def addresses_as_declared(private, public):
    """What a Compute's addresses are when read each way (ADDRESSES templates of test_tosca and
    test_tosca_run): strings on the normative Compute, lists of one on INDIGO's, an index the address."""
    return {
        "plain_private": private,
        "plain_public": public,
        "indigo_private_0": private,
        "indigo_public_0": public,
        "indigo_private": [private],
        "indigo_public": [public],
    }
