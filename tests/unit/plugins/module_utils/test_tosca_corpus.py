"""Conformance over the TOSCA corpora: the project's own (tosca_corpus/, always) and, when it is
beside the checkout, ../shared/corpus/tosca (real templates written for other TOSCA tools).

Every own valid template validates and compiles; every own invalid template gets exactly the
problems its `# expect:` lines name, each with a position. Of the shared corpus: what
tosca-parser or Puccini accepted, we accept; what is invalid by design, we reject with a
positioned problem; every INDIGO example compiles. The exceptions are the tables of
docs/tosca.md, read here, so a file that starts or stops failing must change the docs too.
"""

import re

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import DescriptionError
from ansible_collections.infn.cloud.plugins.module_utils.tosca import compile_file, validate_file
from tests.common import REPO
from tests.unit.plugins.module_utils.tosca_corpora import HAVE_SHARED, SHARED, own, shared, shared_manifest


def _documented(heading: str) -> set:
    """The files listed in the table under heading in docs/tosca.md."""
    text = (REPO / "docs/tosca.md").read_text()
    section = text.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE))


def _accepted_elsewhere(row: dict) -> bool:
    notes = row["notes"]
    return any(mark in notes for mark in ("tosca-parser=ok", "puccini=ok", "with-local-types:tosca-parser=ok"))


def _outcome(template):
    """None when the file validates, else the DescriptionError."""
    try:
        validate_file(str(template.path), import_map=template.import_map)
    except DescriptionError as error:
        return error
    return None


ROWS = shared_manifest()
REJECTED = _documented("Corpus files we reject on purpose")
GAPS = _documented("Gaps: invalid-by-design files we accept")
NOT_COMPILED = _documented("INDIGO examples that do not compile")

OWN_VALID = own("valid")
OWN_INVALID = own("invalid")
ACCEPTED = OWN_VALID + shared([row for row in ROWS if _accepted_elsewhere(row)])
INVALID = OWN_INVALID + shared([row for row in ROWS if row["kind"] == "invalid-by-design"])
INDIGO_EXAMPLES = [
    row
    for row in ROWS
    if row["repo"] == "indigo-dc/tosca-types" and re.fullmatch(r"examples/[^/]+\.ya?ml", row["path"])
]
COMPILED = OWN_VALID + shared(INDIGO_EXAMPLES)


def test_the_own_corpus_is_there():
    # Its templates are the cases of the tests below whether ../shared is there or not.
    assert len(OWN_VALID) >= 5 and len(OWN_INVALID) >= 10
    assert all(template.expected() for template in OWN_INVALID), "an own invalid template without # expect:"


@pytest.mark.parametrize("template", ACCEPTED, ids=repr)
def test_what_is_valid_or_another_parser_accepted_is_accepted_or_documented(template):
    error = _outcome(template)
    if template.key in REJECTED:
        assert error is not None, f"{template.key} is accepted now: remove it from docs/tosca.md"
    else:
        assert error is None, str(error)


@pytest.mark.parametrize("template", INVALID, ids=repr)
def test_what_is_invalid_by_design_is_rejected_with_a_position(template):
    error = _outcome(template)
    if template.key in GAPS:
        assert error is None, f"{template.key} is rejected now: remove it from the gaps in docs/tosca.md"
        return
    assert error is not None, f"{template.key} is accepted"
    for problem in error.problems:
        assert problem.mark.line >= 1 and problem.mark.column >= 1 and problem.message
        assert re.match(r"^.+:\d+:\d+: ", str(problem))
    if template.row is None:  # own: exactly the problems it names, one per mistake, in order
        found = [str(problem) for problem in error.problems]
        expected = template.expected()
        assert len(found) == len(expected) and all(want in got for want, got in zip(expected, found, strict=True)), (
            f"{template.key}: expected {expected}, got:\n{error}"
        )


@pytest.mark.parametrize("template", COMPILED, ids=repr)
def test_every_own_valid_template_and_indigo_example_compiles(template, tmp_path):
    if template.key in NOT_COMPILED:
        with pytest.raises(DescriptionError):
            compile_file(str(template.path), str(tmp_path), import_map=template.import_map)
        return
    plan = compile_file(str(template.path), str(tmp_path), import_map=template.import_map)
    assert plan.node_order and (tmp_path / f"{plan.name}.yml").is_file()


def test_the_documented_files_exist_in_the_corpus():
    documented = REJECTED | GAPS | NOT_COMPILED
    assert REJECTED
    # The tables name shared corpus files (<owner>+<repo>/<path>); checked against it when here.
    assert all(re.fullmatch(r"[\w.-]+\+[\w.-]+/.+", key) for key in documented), documented
    if HAVE_SHARED:
        known = {template.key for template in shared(ROWS)}
        assert known >= documented, documented - known
        assert all((SHARED / key).is_file() for key in documented)
