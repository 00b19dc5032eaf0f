"""The compiled files' YAML writer: what it writes reads back as the same data."""

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.infn.cloud.plugins.module_utils.tosca.yaml_writer import Unsafe, dumps


class _UnsafeLoader(yaml.SafeLoader):
    """Reads !unsafe as Ansible does: the string, marked."""


_UnsafeLoader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.sampled_from(
        ["yes", "No", "on", "~", "null", "1.0", "0x1f", "- a", "a: b", "#x", "{{ x }}", " lead", "trail ", ""]
    ),
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=8), DATA, min_size=1, max_size=5) | st.lists(DATA, min_size=1, max_size=5))
def test_what_is_written_reads_back_the_same(data):
    assert yaml.load(dumps(data), Loader=_UnsafeLoader) == data


def test_unsafe_strings_are_tagged_and_plain_ones_stay_plain():
    text = dumps([{"name": "app: Standard.create", "hosts": "tosca_server", "msg": Unsafe("{{ not templated }}")}])
    assert text == '- name: "app: Standard.create"\n  hosts: tosca_server\n  msg: !unsafe "{{ not templated }}"\n'
    assert isinstance(yaml.load(text, Loader=_UnsafeLoader)[0]["msg"], Unsafe)
