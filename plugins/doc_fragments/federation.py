# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  path:
    description:
      - The federation description (a C(*.federation.yml) file, the same the
        C(infn.cloud.federation) inventory plugin reads), on the host the module runs on.
      - Set it once for all site modules with C(module_defaults) and the C(group/infn.cloud.site) group.
    type: path
    required: true
  sites:
    description: Only these sites (by name); all when empty. Unknown names match nothing.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
notes:
  - "A description with problems fails the task with every problem listed in C(problems)
    as C(file:line:column: path: message)."
"""
