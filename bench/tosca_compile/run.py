"""Benchmark: validating and compiling a TOSCA service template with the infn.cloud engine, against
a bare YAML load of the same file (the baseline) and against tosca-parser, in the same run.

    python bench/tosca_compile/run.py [--sizes 10,100,1000,5000,10000] [--repeat 3] [--parser-timeout 120]

For each size N, the template of bench/tosca_compile/generate.py with N node templates is written
to a temporary folder, with an empty playbooks/app_create.yml beside it so the implementations
exist, and then timed in this one process, best of --repeat, with gc.collect() before every
measurement and the file read from disk inside every timing. Every run reads a copy of the
template at a path of its own: the engine keeps parsed files by path (so that the normative types
and a shared custom_types.yaml are read once per process), and a repeat of the same path would
time that cache, not a compile. The normative types stay parsed from the warm-up, as in any
process that has compiled once.

  load          yaml.load(text, Loader=yaml.CSafeLoader) with the cyclic garbage collector
                paused, as the engine pauses it: the floor, parsing and nothing else
  ours          plugins/module_utils/tosca compile_file(path, output_dir): validate the template
                and write the compiled playbook into a temporary folder
  tosca-parser  toscaparser.tosca_template.ToscaTemplate(path), tosca-parser==2.15.0; once a run
                takes longer than --parser-timeout seconds, the larger sizes are skipped

A column whose tool cannot be imported (the engine while it is being written, tosca-parser when
not installed) says so and the others still run.

Peak memory: for each tool and size, one more run in a fresh child process (this script in a
hidden --measure mode). The peak is the child's getrusage(RUSAGE_SELF).ru_maxrss after the call
minus the child's RSS just before the call, after its imports and a gc.collect(): the interpreter's
own footprint and the tool's imports are left out. On Linux a new process's ru_maxrss starts from
the high-water mark of the process that spawned it (the benchmark itself, hundreds of MiB at the
large sizes), so the child is started through a small relay process and also resets its own
high-water mark (/proc/self/clear_refs) before the call; a peak marked * could not be separated
from an earlier high-water mark and is an upper bound. Linux only (/proc, ru_maxrss in KiB).

Targets, at 1,000 nodes: ours <= 1.5x the bare load, tosca-parser >= 3x slower than ours. Growth
from 1,000 to 10,000 nodes (or the largest size measured) is t(large)/t(1000) divided by the size
ratio: 1.0 is linear. Exit code 0 even when a target is missed (this is a report): look for MISSED.
"""

from __future__ import annotations

import argparse
import gc
import json
import pathlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
# The collection's own code imports as ansible_collections.infn.cloud (see `make collection`).
sys.path.insert(0, str(REPO / "build" / "collections"))
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

TOOLS = ("load", "ours", "parser")
TITLES = {"load": "bare load", "ours": "ours", "parser": "tosca-parser"}
TARGET_SIZE = 1000
OURS_MAX = 1.5  # ours / load at TARGET_SIZE
PARSER_MIN = 3.0  # tosca-parser / ours at TARGET_SIZE
RELAY = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"

Run = Callable[[str, str], object]  # (template path, output folder) -> result


def tool(name: str) -> Run:
    """One run of the named tool; raises whatever importing it raises."""
    if name == "load":
        loader = yaml.CSafeLoader

        def load(path: str, _output: str) -> object:
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                with open(path, encoding="utf-8") as stream:
                    return yaml.load(stream.read(), Loader=loader)
            finally:
                if was_enabled:
                    gc.enable()

        return load
    if name == "ours":
        from ansible_collections.infn.cloud.plugins.module_utils.tosca import compile_file

        def ours(path: str, output: str) -> object:
            return compile_file(path, output)

        return ours
    from toscaparser.tosca_template import ToscaTemplate

    def parser(path: str, _output: str) -> object:
        return ToscaTemplate(path)

    return parser


def available() -> tuple[dict[str, Run], dict[str, str]]:
    runs, missing = {}, {}
    for name in TOOLS:
        try:
            runs[name] = tool(name)
        except Exception as error:  # the engine may be half-written: any failure to import counts
            missing[name] = f"{type(error).__name__}: {error}"
    if "load" in missing:
        sys.exit(f"the baseline needs PyYAML with libyaml (yaml.CSafeLoader): {missing['load']}")
    return runs, missing


def write_template(folder: pathlib.Path, nodes: int) -> tuple[pathlib.Path, int]:
    folder.mkdir(parents=True)
    (folder / "playbooks").mkdir()
    (folder / "playbooks" / "app_create.yml").write_text("")
    text = generate(nodes)
    path = folder / "service.yaml"
    path.write_text(text)
    return path, text.count("\n")


def fresh_copy(path: pathlib.Path, run: str) -> pathlib.Path:
    """The template at a path no run has read yet, beside the original (its playbooks resolve)."""
    copy = path.with_name(f"service-{run}.yaml")
    copy.write_bytes(path.read_bytes())
    return copy


def rss_kib() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * resource.getpagesize() // 1024


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_child(name: str, path: str) -> None:
    """The hidden --measure mode: one run, memory figures on standard output as JSON."""
    run = tool(name)
    with tempfile.TemporaryDirectory(prefix="infn-bench-tosca-out-") as output:
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as stream:
                stream.write("5")  # resets this process's peak RSS to its current RSS
        except OSError:
            pass
        before, floor = rss_kib(), maxrss_kib()
        result = run(path, output)
        peak = maxrss_kib()
        del result
    print(json.dumps({"rss_before": before, "maxrss_before": floor, "maxrss_after": peak}))


def peak_memory(name: str, size: int, path: pathlib.Path) -> str:
    """The peak MiB of one run of `name` in a fresh child process, as a table cell."""
    command = [sys.executable, "-c", RELAY, sys.executable, str(pathlib.Path(__file__).resolve())]
    command += ["--measure", name, str(size), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"{TITLES[name]}: memory run at {size} nodes failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return "failed"
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    peak = (figures["maxrss_after"] - figures["rss_before"]) / 1024
    hidden = figures["maxrss_after"] == figures["maxrss_before"] and figures["maxrss_before"] > figures["rss_before"]
    return f"{peak:.1f}{'*' if hidden else ''}"


def timed(run: Run, path: pathlib.Path, output: pathlib.Path) -> float:
    gc.collect()
    started = time.perf_counter()
    result = run(str(path), str(output))
    elapsed = time.perf_counter() - started
    del result
    gc.collect()
    return elapsed


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    value = seconds * 1000
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def ratio(top: float | None, bottom: float | None) -> str:
    return "-" if top is None or bottom is None else f"{top / bottom:.2f}x"


def short(error: BaseException, lines: int = 15) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()
    return "\n".join(text[:lines] + ([f"... ({len(text) - lines} more lines)"] if len(text) > lines else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,5000,10000", help="node counts, comma separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool and size; the best one counts")
    parser.add_argument("--parser-timeout", type=float, default=120, help="seconds; see above")
    parser.add_argument("--measure", nargs=3, metavar=("TOOL", "SIZE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure_child(args.measure[0], args.measure[2])
        return
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        parser.error("--sizes needs positive node counts and --repeat at least 1")

    runs, missing = available()
    notes = [f"{TITLES[name]}: not available ({why})" for name, why in missing.items()]
    for note in notes:
        print(note, file=sys.stderr)
    times: dict[tuple[str, int], float | None] = {}
    cells: dict[tuple[str, int], str] = {}  # a time cell that is not a number: skipped, failed, n/a
    memory: dict[tuple[str, int], str] = {}
    lines: dict[int, int] = {}
    dropped: dict[str, str] = {name: "n/a" for name in missing}  # tools out for this and later sizes

    with tempfile.TemporaryDirectory(prefix="infn-bench-tosca-") as scratch:
        work = pathlib.Path(scratch)
        warm = write_template(work / "warm-up", 2)[0]  # first-call costs (lazy imports, caches) go here
        for name, run in runs.items():
            (work / f"warm-up-{name}").mkdir()
            try:
                timed(run, warm, work / f"warm-up-{name}")
            except Exception as error:
                print(f"{TITLES[name]} failed on the 2-node warm-up template:\n{short(error)}", file=sys.stderr)

        for size in sizes:
            print(f"{size} nodes ...", file=sys.stderr, flush=True)
            path, lines[size] = write_template(work / f"n{size}", size)
            active = [name for name in runs if name not in dropped]
            for name in dropped:
                cells[name, size] = dropped[name]
            for attempt in range(args.repeat):
                for name in list(active):
                    output = work / f"n{size}" / f"out-{name}-{attempt}"
                    output.mkdir()
                    try:
                        elapsed = timed(runs[name], fresh_copy(path, f"{name}-{attempt}"), output)
                    except Exception as error:
                        print(f"{TITLES[name]} failed at {size} nodes:\n{short(error)}", file=sys.stderr)
                        first = short(error, 1).splitlines()[0]
                        notes.append(f"{TITLES[name]}: failed at {size} nodes ({first}), not run after")
                        active.remove(name)
                        cells[name, size] = dropped[name] = "failed"
                        times.pop((name, size), None)
                        continue
                    times[name, size] = min(times.get((name, size), elapsed), elapsed)
                    if name == "parser" and elapsed > args.parser_timeout:
                        active.remove(name)  # no more repeats at this size, no larger sizes
                        dropped[name] = "skipped"
                        notes.append(
                            f"tosca-parser: one run took {elapsed:.1f} s at {size} nodes"
                            f" (> --parser-timeout {args.parser_timeout:g} s): larger sizes skipped"
                        )
            for name in runs:
                if (name, size) in times:
                    memory[name, size] = peak_memory(name, size, path)
                    gc.collect()

    table(sizes, lines, times, cells, memory)
    print()
    for note in notes:
        print(note)
    if notes:
        print()
    targets(sizes, times, missing)


def table(sizes, lines, times, cells, memory) -> None:
    def cell(name: str, size: int) -> str:
        return ms(times[name, size]) if (name, size) in times else cells.get((name, size), "-")

    head = ["nodes", "YAML lines", "load ms", "ours ms", "t-p ms", "ours/load", "t-p/ours"]
    head += ["load MiB", "ours MiB", "t-p MiB"]
    rows = [head]
    for size in sizes:
        load, ours, parser = (times.get((name, size)) for name in TOOLS)
        row = [f"{size:,}", f"{lines[size]:,}", *(cell(name, size) for name in TOOLS)]
        row += [ratio(ours, load), ratio(parser, ours), *(memory.get((name, size), "-") for name in TOOLS)]
        rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(len(head))]
    print("TOSCA template -> validated and compiled; best of the runs, peak memory of one run in a child (MiB)")
    print("(load = yaml.load with CSafeLoader, collector paused; ours = infn.cloud compile_file;")
    print(" t-p = tosca-parser ToscaTemplate; every run reads the template at a new path: no cached parse)")
    for index, row in enumerate(rows):
        print("  ".join(text.rjust(width) for text, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def targets(sizes, times, missing) -> None:
    print(f"targets at {TARGET_SIZE:,} nodes")
    load, ours, parser = (times.get((name, TARGET_SIZE)) for name in TOOLS)

    def verdict(label: str, value: float | None, met: Callable[[float], bool], names: tuple[str, str]) -> None:
        if value is None:
            print(f"  {label}: not measured ({why(*names)})")
        else:
            print(f"  {label}: {value:.2f}x  {'met' if met(value) else 'MISSED'}")

    def why(*names: str) -> str:
        if TARGET_SIZE not in sizes:
            return f"{TARGET_SIZE:,} not in --sizes"
        name = next(name for name in names if (name, TARGET_SIZE) not in times)
        return f"{TITLES[name]} {'not available' if name in missing else 'did not run at this size'}"

    verdict(
        f"ours <= {OURS_MAX}x the bare load",
        None if ours is None or load is None else ours / load,
        lambda value: value <= OURS_MAX,
        ("load", "ours"),
    )
    verdict(
        f"tosca-parser >= {PARSER_MIN}x slower than ours",
        None if ours is None or parser is None else parser / ours,
        lambda value: value >= PARSER_MIN,
        ("ours", "parser"),
    )
    print("growth, t(large)/t(1,000) divided by large/1,000 (1.0 is linear)")
    for name in TOOLS:
        larger = [size for size in sizes if size > TARGET_SIZE and (name, size) in times]
        if (name, TARGET_SIZE) not in times or not larger:
            print(f"  {TITLES[name]}: not measured (needs {TARGET_SIZE:,} and a larger size)")
            continue
        large = max(larger)
        growth = times[name, large] / times[name, TARGET_SIZE] / (large / TARGET_SIZE)
        print(f"  {TITLES[name]}, 1,000 -> {large:,} nodes: {growth:.2f}")


if __name__ == "__main__":
    main()
