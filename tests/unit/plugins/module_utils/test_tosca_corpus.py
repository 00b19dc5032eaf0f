"""Conformance over ../shared/corpus/tosca: real templates written for other TOSCA tools.

What tosca-parser or Puccini accepted, we accept; what is invalid by design, we reject with a
positioned problem; every INDIGO example compiles. The exceptions are the tables of
docs/tosca.md, read here, so a file that starts or stops failing must change the docs too.
"""

import csv
import re

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError
from ansible_collections.infn.cloud.plugins.module_utils.tosca import compile_file, validate_file
from tests.common import REPO

CORPUS = REPO.parent / "shared/corpus/tosca"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the TOSCA corpus (../shared/corpus/tosca) is not here")

INDIGO_TYPES = CORPUS / "indigo-dc+tosca-types/custom_types.yaml"
# The URLs the corpus imports INDIGO's and grycap's types by, sent to the corpus's copies, as
# the corpus's own notes did for tosca-parser and Puccini.
IMPORT_MAP = {
    **{
        f"https://raw.githubusercontent.com/indigo-dc/tosca-types/{branch}/custom_types.yaml": str(INDIGO_TYPES)
        for branch in ("master", "devel", "v4.0.0", "add-ek")
    },
    "https://raw.githubusercontent.com/grycap/tosca/main/custom_types.yaml": str(
        CORPUS / "grycap+tosca/custom_types.yaml"
    ),
}


def _manifest() -> list[dict]:
    if not CORPUS.is_dir():
        return []
    with open(CORPUS / "MANIFEST.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row for row in rows if not row["path"].endswith("TOSCA.meta")]


def _key(row: dict) -> str:
    return f"{row['repo'].replace('/', '+')}/{row['path']}"


def _documented(heading: str) -> set:
    """The files listed in the table under heading in docs/tosca.md."""
    text = (REPO / "docs/tosca.md").read_text()
    section = text.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE))


def _accepted_elsewhere(row: dict) -> bool:
    notes = row["notes"]
    return any(mark in notes for mark in ("tosca-parser=ok", "puccini=ok", "with-local-types:tosca-parser=ok"))


def _outcome(row: dict):
    """None when the file validates, else the DescriptionError."""
    try:
        validate_file(str(CORPUS / _key(row)), import_map=IMPORT_MAP)
    except DescriptionError as error:
        return error
    return None


ROWS = _manifest()
REJECTED = _documented("Corpus files we reject on purpose")
GAPS = _documented("Gaps: invalid-by-design files we accept")
NOT_COMPILED = _documented("INDIGO examples that do not compile")


@pytest.mark.parametrize("row", [r for r in ROWS if _accepted_elsewhere(r)], ids=_key)
def test_what_another_parser_accepted_is_accepted_or_documented(row):
    error = _outcome(row)
    if _key(row) in REJECTED:
        assert error is not None, f"{_key(row)} is accepted now: remove it from docs/tosca.md"
    else:
        assert error is None, str(error)


@pytest.mark.parametrize("row", [r for r in ROWS if r["kind"] == "invalid-by-design"], ids=_key)
def test_what_is_invalid_by_design_is_rejected_with_a_position(row):
    error = _outcome(row)
    if _key(row) in GAPS:
        assert error is None, f"{_key(row)} is rejected now: remove it from the gaps in docs/tosca.md"
        return
    assert error is not None
    for problem in error.problems:
        assert problem.mark.line >= 1 and problem.mark.column >= 1 and problem.message
        assert re.match(r"^.+:\d+:\d+: ", str(problem))


@pytest.mark.parametrize(
    "template",
    sorted((CORPUS / "indigo-dc+tosca-types/examples").glob("*.y*ml")) if CORPUS.is_dir() else [],
    ids=lambda p: p.name,
)
def test_every_indigo_example_compiles(template, tmp_path):
    key = f"indigo-dc+tosca-types/examples/{template.name}"
    if key in NOT_COMPILED:
        with pytest.raises(DescriptionError):
            compile_file(str(template), str(tmp_path), import_map=IMPORT_MAP)
        return
    plan = compile_file(str(template), str(tmp_path), import_map=IMPORT_MAP)
    assert plan.node_order and (tmp_path / f"{plan.name}.yml").is_file()


def test_the_documented_files_exist_in_the_corpus():
    known = {_key(row) for row in ROWS}
    assert REJECTED and known >= (REJECTED | GAPS | NOT_COMPILED)
