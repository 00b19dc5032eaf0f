"""The collection's one shape of a problem and of a failure's message, whatever plugin fails."""

import pytest

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    DescriptionError,
    Mark,
    Problem,
    ProblemsError,
    failure,
    option_problem,
)

IN_FILE = Problem(Mark("web.yaml", 9, 13), "topology_template.node_templates.vm.type", "unknown node type 'x'")
OPTION = option_problem("limit", "expected 1 to 10000; got 0")


def test_a_problem_in_a_file_and_one_with_an_option_have_one_shape():
    assert IN_FILE.as_dict() == {
        "file": "web.yaml",
        "line": 9,
        "column": 13,
        "path": "topology_template.node_templates.vm.type",
        "message": "unknown node type 'x'",
    }
    assert OPTION.as_dict() == {
        "file": None,
        "line": None,
        "column": None,
        "path": "limit",
        "message": "expected 1 to 10000; got 0",
    }
    assert str(IN_FILE) == "web.yaml:9:13: topology_template.node_templates.vm.type: unknown node type 'x'"
    assert str(OPTION) == "limit: expected 1 to 10000; got 0"


def test_the_message_says_how_many_problems_and_where_then_one_line_each():
    assert failure([IN_FILE, OPTION], "web.yaml") == {
        "msg": "2 problems in web.yaml:\n" + str(IN_FILE) + "\n" + str(OPTION),
        "problems": [IN_FILE.as_dict(), OPTION.as_dict()],
    }
    # A positioned problem is one line already; a lone option problem reads on one line.
    assert failure([IN_FILE], "web.yaml")["msg"] == f"1 problem in web.yaml:\n{IN_FILE}"
    assert failure([OPTION], "the options")["msg"] == "the options: limit: expected 1 to 10000; got 0"


def test_a_failure_without_problems_is_its_message_with_its_subject():
    error = ProblemsError("swift ring object", message="cannot load /etc/swift/object.builder: torn")
    assert str(error) == "swift ring object: cannot load /etc/swift/object.builder: torn"
    assert error.result() == {"msg": str(error), "problems": []}
    assert ProblemsError("swift ring object", [OPTION]).result()["problems"] == [OPTION.as_dict()]


def test_problems_sort_by_position_and_option_problems_come_first():
    later = Problem(Mark("web.yaml", 12, 1), "outputs", "unknown output")
    with pytest.raises(DescriptionError) as caught:
        raise DescriptionError([later, IN_FILE, OPTION])
    assert caught.value.problems == [OPTION, IN_FILE, later]
