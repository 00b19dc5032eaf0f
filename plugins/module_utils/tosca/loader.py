# Copyright: infn.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a service template and everything it imports into one type system.

Imports are relative files, files inside a CSAR (a zip with ``TOSCA-Metadata/TOSCA.meta``, or
such a folder), and URLs. A URL is read through the **import map** (URL, or URL prefix ending
in ``/``, to a local file or folder) so that compiling needs no network; only with
``allow_network`` is an unmapped URL fetched. INDIGO's named form (``- name: <url>``) reads like
``- file: <url>``.
"""

from __future__ import annotations

import os
import posixpath
import re
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from urllib.error import HTTPError

from ansible.module_utils.urls import open_url

from ansible_collections.infn.cloud.plugins.module_utils.diagnostics import (
    DescriptionError,
    Mark,
    Problem,
    Problems,
    describe,
    did_you_mean,
    join_path,
)
from ansible_collections.infn.cloud.plugins.module_utils.positioned_yaml import (
    decode,
    load,
    mark_of,
    position,
    read_text,
)
from ansible_collections.infn.cloud.plugins.module_utils.tosca import grammar
from ansible_collections.infn.cloud.plugins.module_utils.tosca.types import (
    KINDS,
    DefinitionReader,
    InterfaceDef,
    TypeDef,
    TypeSystem,
)
from ansible_collections.infn.cloud.plugins.module_utils.tosca.values import (
    PRIMITIVE_TYPES,
    PRIMITIVE_TYPES_2_0,
)

PROFILE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles")
NORMATIVE_PROFILE = os.path.join(PROFILE_DIR, "tosca_simple_yaml_1_3.yaml")
VERSIONS = {
    "tosca_simple_yaml_1_0": "1.0",
    "tosca_simple_yaml_1_1": "1.1",
    "tosca_simple_yaml_1_2": "1.2",
    "tosca_simple_yaml_1_3": "1.3",
    "tosca_2_0": "2.0",
}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_FETCH_TIMEOUT = 30


@dataclass
class Source:
    """Where a file was read from: a path on disk or a member of a CSAR zip."""

    path: str  # what messages show
    zip_file: str | None = None  # the CSAR holding it
    member: str | None = None  # its name inside the CSAR
    url: str | None = None  # the URL it was imported by, relative imports resolve against it


@dataclass
class Service:
    """A service template with its imports read: the types and the main document."""

    version: str
    types: TypeSystem
    document: dict
    source: Source
    files: list = field(default_factory=list)  # every file read, in order
    warnings: list = field(default_factory=list)  # Problems that did not stop the template
    # Topologies of imported files that substitute a node type (nested templates): their
    # substitution mappings are checked too, the rest of them only when they are the main one.
    substitutions: list = field(default_factory=list)


def mapped_path(import_map: dict, url: str) -> str | None:
    """The local file import_map sends url to: the URL itself, or the longest URL prefix
    (ending in /) mapped to a folder, the rest of the URL under it; None when unmapped."""
    local = import_map.get(url)
    if local is None:
        prefixes = [prefix for prefix in import_map if prefix.endswith("/") and url.startswith(prefix)]
        if prefixes:
            best = max(prefixes, key=len)
            local = os.path.join(import_map[best], url[len(best) :])
    return local


class Loader:
    """Loads a service template, its imports and the normative types into one TypeSystem."""

    def __init__(self, import_map: dict | None = None, allow_network: bool = False, fetch_dir: str | None = None):
        self.import_map = {str(k): str(v) for k, v in (import_map or {}).items()}
        self.allow_network = allow_network
        self.fetch_dir = fetch_dir
        self.problems = Problems()
        self.warnings: list = []  # Problems that do not stop the template (duplicate keys)
        self.substitutions: list = []
        self._seen: dict = {}  # source key -> prefixes it was imported with
        self._chain: list = []  # (source key, path) of the files being walked, the main one first

    def load(self, path: str) -> Service:
        source = self._entry(path)
        self.main_path = source.path
        document = self._read(source, None, "")
        if document is None:
            self.problems.raise_if_any()
        version = self._version(document, source)
        self.problems.raise_if_any()
        system = TypeSystem(PRIMITIVE_TYPES_2_0 if version == "2.0" else PRIMITIVE_TYPES)
        system.warnings = self.warnings
        reader = DefinitionReader(system, self.problems, version)
        files = []
        if version != "2.0":
            normative = self._read(Source(NORMATIVE_PROFILE), None, "")
            self._add_types(normative, Source(NORMATIVE_PROFILE), reader, "", normative=True)
        self._walk(document, source, reader, "", files)
        system.link(self.problems)
        reader.check_pending()
        self.problems.raise_if_any()
        return Service(version, system, document, source, files, self.warnings, self.substitutions)

    # ---- finding and reading files ----

    def _entry(self, path: str) -> Source:
        """The entry document of path: a YAML file, a CSAR zip or a folder with TOSCA.meta."""
        if os.path.isdir(path):
            meta = os.path.join(path, "TOSCA-Metadata", "TOSCA.meta")
            if not os.path.exists(meta):
                self._fail(
                    path, "a folder given as a template needs TOSCA-Metadata/TOSCA.meta naming its Entry-Definitions"
                )
            entry = self._entry_definitions(read_text(meta), meta)
            return Source(os.path.join(path, entry))
        if path.endswith((".csar", ".zip")) or (os.path.isfile(path) and zipfile.is_zipfile(path)):
            return self._csar_entry(path)
        return Source(path)

    def _csar_entry(self, path: str) -> Source:
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if "TOSCA-Metadata/TOSCA.meta" in names:
                    text = archive.read("TOSCA-Metadata/TOSCA.meta").decode("utf-8")
                    member = self._entry_definitions(text, f"{path}!TOSCA-Metadata/TOSCA.meta")
                else:
                    # 1.3, 4.2: without TOSCA.meta the one YAML file at the root is the entry.
                    roots = [n for n in names if "/" not in n and n.endswith((".yaml", ".yml"))]
                    if len(roots) != 1:
                        self._fail(
                            path,
                            f"a CSAR without TOSCA-Metadata/TOSCA.meta needs exactly one YAML file at its root, found {len(roots)}",
                        )
                    member = roots[0]
        except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as error:
            self._fail(path, f"cannot read the CSAR: {error}")
        return Source(f"{path}!{member}", zip_file=path, member=posixpath.normpath(member))

    def _entry_definitions(self, text: str, where: str) -> str:
        for line in text.splitlines():
            key, _colon, value = line.partition(":")
            if key.strip() == "Entry-Definitions" and value.strip():
                return value.strip()
        self._fail(where, "TOSCA.meta has no Entry-Definitions line naming the service template")
        return ""  # not reached

    def _fail(self, where: str, message: str):
        raise DescriptionError([Problem(Mark(where, 1, 1), "", message)])

    def _read(self, source: Source, mark: Mark | None, path: str):
        """The YAML document of source; problems (with the importing mark) when unreadable."""
        try:
            if source.zip_file:
                with zipfile.ZipFile(source.zip_file) as archive:
                    text = decode(archive.read(source.member))
            else:
                text = _CACHE.text(source.path)
            document, warnings = _CACHE.document(source.path, text)
        except DescriptionError as error:
            # Problems inside an imported file point into that file.
            for problem in error.problems:
                self.problems.add(problem.mark, problem.path, problem.message)
            return None
        except (KeyError, OSError, zipfile.BadZipFile, UnicodeDecodeError) as error:
            self.problems.add(mark or Mark(source.path, 1, 1), path, f"cannot read {source.path}: {error}")
            return None
        self.warnings.extend(warnings)
        return document

    def _version(self, document, source: Source) -> str:
        top = Mark(source.path, 1, 1)
        if not isinstance(document, dict):
            self.problems.add(
                getattr(document, "mark", None) or top,
                "",
                f"expected a service template (a mapping with tosca_definitions_version), got {describe(document)}",
            )
            return ""
        raw = document.get("tosca_definitions_version")
        if raw is None:
            self.problems.add(
                top,
                "tosca_definitions_version",
                "required key is missing"
                + did_you_mean("tosca_definitions_version", [k for k in document if isinstance(k, str)]).replace(
                    "did you mean", "found"
                ),
            )
            return ""
        if not isinstance(raw, str) or raw not in VERSIONS:
            self.problems.add(
                mark_of(document, "tosca_definitions_version"),
                "tosca_definitions_version",
                f"unsupported version {describe(raw)}: expected one of {', '.join(VERSIONS)}{did_you_mean(raw, VERSIONS)}",
            )
            return ""
        return VERSIONS[raw]

    # ---- imports ----

    def _walk(self, document, source: Source, reader: DefinitionReader, prefix: str, files: list) -> None:
        key = (source.zip_file, source.member or os.path.abspath(source.path))
        if prefix in self._seen.setdefault(key, set()):
            return
        first = not self._seen[key]
        self._seen[key].add(prefix)
        files.append(source.path)
        if len(files) > 1 and isinstance(document, dict):
            topology = document.get("topology_template")
            if isinstance(topology, dict) and "substitution_mappings" in topology:
                self.substitutions.append(topology)
        if not isinstance(document, dict):
            self.problems.add(
                getattr(document, "mark", None) or Mark(source.path, 1, 1),
                "",
                f"expected a mapping, got {describe(document)}",
            )
            return
        if document is not None and len(files) > 1:
            self._version(document, source)
        grammar.check_keys(document, grammar.SERVICE_TEMPLATE, "", Mark(source.path, 1, 1), self.problems)
        repositories = self._repositories(document.get("repositories"), document)
        self._chain.append((key, source.path))
        for imported, import_prefix, mark, path in self._imports(document, source, repositories):
            if self._cycle(imported, mark, path):
                continue
            child = self._read(imported, mark, path)
            if child is not None:
                self._walk(child, imported, reader, import_prefix or prefix, files)
        self._chain.pop()
        if first or prefix:
            self._add_types(document, source, reader, prefix, normative=False, aliases_only=not first)

    def _cycle(self, imported: Source, mark: Mark, path: str) -> bool:
        """Whether importing imported closes a cycle (reported): a file importing itself, or two
        files importing each other, is refused rather than silently cut, so its author sees it."""
        key = (imported.zip_file, imported.member or os.path.abspath(imported.path))
        keys = [walked for walked, _path in self._chain]
        if key not in keys:
            return False
        chain = [walked_path for _key, walked_path in self._chain[keys.index(key) :]] + [imported.path]
        self.problems.add(mark, path, "import cycle: " + " -> ".join(chain))
        return True

    def _repositories(self, raw, document) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problems.add(
                mark_of(document, "repositories"),
                "repositories",
                f"expected a mapping of repositories, got {describe(raw)}",
            )
            return {}
        result = {}
        for name, repository in raw.items():
            if isinstance(repository, str):
                result[name] = repository
            elif isinstance(repository, dict) and isinstance(repository.get("url"), str):
                grammar.check_keys(
                    repository, grammar.REPOSITORY, f"repositories.{name}", mark_of(raw, name), self.problems
                )
                result[name] = repository["url"]
            else:
                self.problems.add(
                    mark_of(raw, name),
                    f"repositories.{name}",
                    f"expected a URL or a mapping with url, got {describe(repository)}",
                )
        return result

    def _imports(self, document, source: Source, repositories: dict):
        raw = document.get("imports")
        if raw is None:
            return
        if isinstance(raw, dict):  # some 1.0 writers use a mapping of name: file
            items = [({name: value}, mark_of(raw, name), f"imports.{name}") for name, value in raw.items()]
        elif isinstance(raw, list):
            items = [(item, mark_of(raw, index), f"imports[{index}]") for index, item in enumerate(raw)]
        else:
            self.problems.add(
                mark_of(document, "imports"), "imports", f"expected a list of imports, got {describe(raw)}"
            )
            return
        for item, mark, path in items:
            file, repository, prefix = None, None, ""
            if isinstance(item, str):
                file = item
            elif isinstance(item, dict):
                if "file" in item or "url" in item or "profile" in item or "repository" in item:
                    grammar.check_keys(item, grammar.IMPORT, path, mark, self.problems)
                    file = item.get("file", item.get("url"))
                    repository = item.get("repository")
                    prefix = item.get("namespace_prefix", item.get("namespace", "")) or ""
                    if "profile" in item and file is None:
                        self.problems.add(
                            mark,
                            path,
                            f"profile {describe(item['profile'])} is not known here: import the profile's files by url or file (docs/tosca.md)",
                        )
                        continue
                elif len(item) == 1:
                    # INDIGO's named import: - indigo_custom_types: <url> (or {file: ...}).
                    ((name, value),) = item.items()
                    path = join_path(path, name)
                    if isinstance(value, dict):
                        grammar.check_keys(value, grammar.IMPORT, path, mark, self.problems)
                        file, repository = value.get("file", value.get("url")), value.get("repository")
                        prefix = value.get("namespace_prefix", "") or ""
                    else:
                        file = value
            if not isinstance(file, str) or not file:
                self.problems.add(
                    mark, path, f"expected an import: a file name, a URL or a mapping with file, got {describe(item)}"
                )
                continue
            if not isinstance(prefix, str):
                self.problems.add(mark, path, f"expected namespace_prefix to be a string, got {describe(prefix)}")
                prefix = ""
            if repository is not None:
                if repository not in repositories:
                    self.problems.add(
                        mark,
                        join_path(path, "repository"),
                        f"no repository named {describe(repository)}{did_you_mean(repository, repositories)}",
                    )
                    continue
                base = repositories[repository]
                file = base + ("" if base.endswith("/") else "/") + file.lstrip("/")
            resolved = self._resolve(file, source, mark, path)
            if resolved is not None:
                yield resolved, prefix, mark, path

    def _resolve(self, file: str, source: Source, mark: Mark, path: str) -> Source | None:
        if _URL.match(file):
            return self._resolve_url(file, mark, path)
        if source.url:  # relative to a URL that was mapped or fetched
            return self._resolve_url(urllib.parse.urljoin(source.url, file), mark, path)
        if source.zip_file:
            member = posixpath.normpath(posixpath.join(posixpath.dirname(source.member), file))
            return Source(f"{source.zip_file}!{member}", zip_file=source.zip_file, member=member)
        if os.path.isabs(file):
            candidates = [file]
        else:
            # Beside the importing file first (the spec); then beside the main template and up
            # the importing file's folders, where tosca-parser's test templates expect them.
            folders = [os.path.dirname(source.path), os.path.dirname(self.main_path)]
            folder = os.path.dirname(source.path)
            for _level in range(3):
                folder = os.path.dirname(folder)
                folders.append(folder)
            candidates = [os.path.normpath(os.path.join(folder, file)) for folder in folders]
        for local in candidates:
            if os.path.isfile(local):
                return Source(local)
        self.problems.add(mark, path, f"imported file {file!r} not found (looked for {candidates[0]})")
        return None

    def _resolve_url(self, url: str, mark: Mark, path: str) -> Source | None:
        local = mapped_path(self.import_map, url)
        if local is not None:
            if not os.path.exists(local):
                self.problems.add(mark, path, f"the import map sends {url} to {local}, which does not exist")
                return None
            return Source(local, url=url)
        if url.startswith("file://"):
            return Source(urllib.parse.urlparse(url).path, url=url)
        if not self.allow_network:
            self.problems.add(
                mark,
                path,
                f"{url} is not in the import map: map it to a local copy (import_map) or allow network access",
            )
            return None
        return self._fetch(url, mark, path)

    def _fetch(self, url: str, mark: Mark, path: str) -> Source | None:
        try:
            data = open_url(url, timeout=_FETCH_TIMEOUT).read()
        except (OSError, ValueError, HTTPError) as error:
            self.problems.add(mark, path, f"cannot fetch {url}: {error}")
            return None
        folder = self.fetch_dir or os.path.join(os.path.expanduser("~"), ".cache", "infn.cloud", "tosca")
        os.makedirs(folder, exist_ok=True)
        local = os.path.join(folder, re.sub(r"[^A-Za-z0-9._-]", "_", url))
        with open(local, "wb") as handle:
            handle.write(data)
        return Source(local, url=url)

    # ---- types ----

    def _add_types(
        self,
        document,
        source: Source,
        reader: DefinitionReader,
        prefix: str,
        normative: bool,
        aliases_only: bool = False,
    ) -> None:
        system = reader.system
        for kind in KINDS:
            section = document.get(kind)
            if section is None:
                continue
            if not isinstance(section, dict):
                self.problems.add(
                    mark_of(document, kind),
                    kind,
                    f"expected a mapping of {kind.replace('_', ' ')}, got {describe(section)}",
                )
                continue
            section = grammar.string_keys(
                section, kind, mark_of(document, kind) or Mark(source.path, 1, 1), self.problems, "type name"
            )
            for name, raw in section.items():
                if aliases_only:
                    if prefix:
                        system.alias(kind, f"{prefix}:{name}", name)
                        system.alias(kind, f"{prefix}.{name}", name)
                    continue
                path, mark = f"{kind}.{name}", mark_of(section, name) or Mark(source.path, 1, 1)
                existing = system.types[kind].get(name)
                if existing is not None and not existing.normative:
                    first = existing.raw.mark if hasattr(existing.raw, "mark") else None
                    where = f" (first defined at {first})" if first else ""
                    self.problems.add(
                        section.key_mark_of(name),
                        path,
                        f"{kind[:-1].replace('_', ' ')} {name!r} is defined twice{where}",
                    )
                    continue
                if raw is None:  # a type with nothing but its name
                    raw = position({}, mark.file, mark.line, mark.column)
                if not isinstance(raw, dict):
                    self.problems.add(mark, path, f"expected a type definition (a mapping), got {describe(raw)}")
                    continue
                if kind != "interface_types":  # their operations are keys of their own before 1.3
                    grammar.check_keys(raw, grammar.TYPE_KEYS[kind], path, mark, self.problems)
                typedef = _read_type(kind, name, raw, path, mark, reader)
                typedef.normative = normative
                # A template may redefine a normative type (INDIGO's tosca.datatypes.Root): its
                # definition wins, as with tosca-parser.
                system.add(kind, name, typedef)
                if prefix:
                    # prefix:Name is the spec's form; tosca-parser's templates write prefix.Name.
                    system.alias(kind, f"{prefix}:{name}", name)
                    system.alias(kind, f"{prefix}.{name}", name)


def _read_type(kind: str, name: str, raw, path: str, mark: Mark, reader: DefinitionReader) -> TypeDef:
    problems = reader.problems
    parent = raw.get("derived_from")
    if parent is not None and not isinstance(parent, str):
        problems.add(
            mark_of(raw, "derived_from"),
            join_path(path, "derived_from"),
            f"expected a type name, got {describe(parent)}",
        )
        parent = None
    typedef = TypeDef(kind, name, raw, parent)
    if kind in (
        "data_types",
        "capability_types",
        "relationship_types",
        "node_types",
        "group_types",
        "policy_types",
        "artifact_types",
    ):
        typedef.own_properties = reader.property_defs(raw.get("properties"), join_path(path, "properties"), mark)
    if kind in ("capability_types", "relationship_types", "node_types", "group_types"):
        typedef.own_attributes = reader.property_defs(
            raw.get("attributes"), join_path(path, "attributes"), mark, "attribute"
        )
    if kind in ("node_types", "group_types"):
        typedef.own_capabilities = reader.capability_defs(
            raw.get("capabilities"), join_path(path, "capabilities"), mark
        )
        typedef.own_requirements = reader.requirement_defs(
            raw.get("requirements"), join_path(path, "requirements"), mark
        )
    if kind in ("node_types", "relationship_types", "group_types"):
        typedef.own_interfaces = reader.interface_defs(raw.get("interfaces"), join_path(path, "interfaces"), mark)
    if kind == "interface_types":
        typedef.own_interfaces = {"": _interface_type_operations(raw, path, mark, reader)}
    if kind == "data_types":
        constraints = raw.get("constraints", raw.get("validation"))
        if constraints is not None and isinstance(parent, str):
            typedef.own_constraints = reader.constraints(constraints, parent, join_path(path, "constraints"), raw)
        if "entry_schema" in raw:
            typedef.entry = reader.schema(
                raw["entry_schema"], join_path(path, "entry_schema"), mark_of(raw, "entry_schema"), "entry schema"
            )
    if kind == "relationship_types":
        targets = raw.get("valid_target_types", raw.get("valid_capability_types"))
        if isinstance(targets, list):
            typedef.valid_target_types = [t for t in targets if isinstance(t, str)]
    return typedef


def _interface_type_operations(raw, path: str, mark: Mark, reader: DefinitionReader) -> InterfaceDef:
    return InterfaceDef("", "", reader.operations(raw, path, mark), {}, mark)


class _DocumentCache:
    """Parsed files by path, modification time and size: the normative types and a shared
    custom_types.yaml are read once per process, not once per template."""

    def __init__(self, size: int = 64):
        self.size = size
        self._documents: dict = {}

    def text(self, path: str) -> str:
        return read_text(path)

    def document(self, path: str, text: str) -> tuple:
        """(document, warnings) of text; the document is shared: callers never change it."""
        key = (path, len(text), hash(text))
        found = self._documents.get(key)
        if found is None:
            warnings: list = []
            found = (load(text, path, warnings), warnings)
            if len(self._documents) >= self.size:
                self._documents.pop(next(iter(self._documents)))
            self._documents[key] = found
        return found


_CACHE = _DocumentCache()


def load_service(path: str, import_map: dict | None = None, allow_network: bool = False) -> Service:
    """The service template at path with its imports and types; DescriptionError on problems."""
    if not isinstance(path, str) or not os.path.exists(path):
        raise DescriptionError([Problem(Mark(str(path), 1, 1), "", "the template file does not exist")])
    return Loader(import_map, allow_network).load(path)
