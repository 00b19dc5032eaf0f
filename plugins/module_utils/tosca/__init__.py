# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TOSCA engine: load (loader), check (types, topology, functions) and compile (compiler)
into a typed plan (plan).

``validate_file`` and ``compile_file`` are the two entry points; both raise
``diagnostics.DescriptionError`` with every problem of the template, positioned.
"""

from __future__ import annotations

from ansible_collections.infn.cloud.plugins.module_utils.tosca.compiler import compile_file, validate_file
from ansible_collections.infn.cloud.plugins.module_utils.tosca.plan import Plan

__all__ = ["Plan", "compile_file", "validate_file"]
