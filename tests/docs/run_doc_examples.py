#!/usr/bin/env python3
"""Runs the examples a Markdown doc marks, and checks the output the doc claims for them.

Markers are HTML comments (invisible on GitHub), each on the line before a fenced block:

  <!-- doc-test -->            the next ```sh block is run: its lines are one bash script
  <!-- doc-test: exit N -->     the same, and it must exit with status N (default 0)
  <!-- doc-test: output -->    the next block's lines must appear, in this order, in what the
                               last run block printed (stdout and stderr); other lines may come
                               between them. In a line, `...` matches any text (numbers,
                               times, paths); a line that is only `...` is left out.

The blocks of one doc run in order, in one temporary directory (a later block can read a file an
earlier one wrote), with set -eo pipefail, the build's bin directory first on PATH, MNIST_DIR
absolute, and CUDA_VISIBLE_DEVICES empty, so every machine runs them as one without a GPU.

  run_doc_examples.py --bin-dir DIR [--needs-mnist] [--timeout S] [--list] DOC.md...

Exit status: 0 every block passed; 1 a block failed, a marker is malformed, or a doc marks
nothing; 77 skipped (--needs-mnist without MNIST_DIR); 2 bad arguments.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^<!--\s*doc-test(?::\s*(?P<arg>.*?))?\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>\S*)")


class DocError(Exception):
    """A malformed marker or block; the message starts with file:line."""


class Block:
    def __init__(self, kind, line, text, status=0):
        self.kind = kind      # "run" or "output"
        self.line = line      # 1-based line of the marker
        self.text = text
        self.status = status  # the exit status a run block must end with


def parse(path):
    """Returns the marked blocks of the Markdown file at path, in order."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = []
    in_fence = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if in_fence:
            if line.strip() == in_fence:
                in_fence = None
            i += 1
            continue
        if fence:
            in_fence = fence.group("fence")
            i += 1
            continue
        marker = MARKER.match(line.strip())
        if not marker:
            if line.lstrip().startswith("<!--") and "doc-test" in line:
                raise DocError(f"{path}:{i + 1}: a doc-test marker must be alone on its line: "
                               "<!-- doc-test -->, <!-- doc-test: exit N --> or "
                               "<!-- doc-test: output -->")
            i += 1
            continue
        arg = (marker.group("arg") or "").strip()
        where = f"{path}:{i + 1}"
        if arg == "":
            kind, status = "run", 0
        elif arg == "output":
            kind, status = "output", 0
        elif re.fullmatch(r"exit \d+", arg):
            kind, status = "run", int(arg.split()[1])
        else:
            raise DocError(f"{where}: unknown doc-test marker \"{arg}\" (expected nothing, "
                           "\"exit N\" or \"output\")")
        j = i + 1
        fence = FENCE.match(lines[j]) if j < len(lines) else None
        if not fence:
            raise DocError(f"{where}: the doc-test marker is not followed by a fenced block "
                           "on the next line")
        if kind == "run" and fence.group("info") != "sh":
            raise DocError(f"{where}: a doc-test run block must be ```sh, not "
                           f"```{fence.group('info')}")
        body = []
        k = j + 1
        while k < len(lines) and lines[k].strip() != fence.group("fence"):
            body.append(lines[k])
            k += 1
        if k == len(lines):
            raise DocError(f"{where}: the block after the marker never closes")
        blocks.append(Block(kind, i + 1, "\n".join(body), status))
        i = k + 1
    return blocks


def line_pattern(expected):
    return re.compile(".*".join(re.escape(part) for part in expected.split("...")))


def check_output(expected_text, actual_text):
    """None when every expected line appears in order in actual_text, else what is missing."""
    actual = [line.rstrip() for line in actual_text.split("\n")]
    position = 0
    previous = None
    for expected in expected_text.split("\n"):
        expected = expected.rstrip()
        if expected.strip() in ("", "..."):
            continue
        pattern = line_pattern(expected)
        for index in range(position, len(actual)):
            if pattern.fullmatch(actual[index]):
                position = index + 1
                previous = expected
                break
        else:
            after = f" after the line matching \"{previous}\"" if previous else ""
            return f"no line{after} matches \"{expected}\""
    return None


def indent(text):
    if not text.strip():
        return "    (no output)\n"
    return "".join(f"    | {line}\n" for line in text.rstrip("\n").split("\n"))


def run_doc(path, blocks, env, timeout):
    """Runs one doc's blocks; returns the number of failures."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="doc-test.") as work:
        output = None
        run_line = None
        for block in blocks:
            where = f"{path}:{block.line}"
            if block.kind == "output":
                if output is None:
                    print(f"FAILED: {where}: an output block with no doc-test run block before it")
                    failures += 1
                    continue
                problem = check_output(block.text, output)
                if problem:
                    print(f"FAILED: {where}: the output of the block at line {run_line}: {problem}")
                    print(indent(output), end="")
                    failures += 1
                else:
                    print(f"ok: {where}: output of line {run_line}")
                continue
            script = "set -eo pipefail\n" + block.text + "\n"
            summary = " ; ".join(
                line.strip() for line in block.text.replace("\\\n", " ").split("\n")
                if line.strip())
            try:
                done = subprocess.run(["bash", "-c", script], cwd=work, env=env,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, timeout=timeout)
                output = done.stdout.decode("utf-8", errors="replace")
                status = done.returncode
            except subprocess.TimeoutExpired as e:
                output = (e.stdout or b"").decode("utf-8", errors="replace")
                status = None
            run_line = block.line
            if status is None:
                print(f"FAILED: {where}: `{summary}` ran longer than {timeout} s")
                print(indent(output), end="")
                failures += 1
            elif status != block.status:
                print(f"FAILED: {where}: `{summary}` exited with status {status}, "
                      f"the doc says {block.status}")
                print(indent(output), end="")
                failures += 1
            else:
                print(f"ok: {where}: `{summary}` (exit status {status})")
    return failures


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("docs", nargs="+", metavar="DOC.md")
    parser.add_argument("--bin-dir", required=True,
                        help="the build's bin directory (train_mnist, cuda_doctor)")
    parser.add_argument("--needs-mnist", action="store_true",
                        help="the examples read MNIST: skip (exit 77) without $MNIST_DIR")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per block")
    parser.add_argument("--list", action="store_true", help="list the marked blocks, run none")
    args = parser.parse_args(argv)

    try:
        parsed = [(doc, parse(doc)) for doc in args.docs]
    except (OSError, DocError) as e:
        print(f"FAILED: {e}")
        return 1
    for doc, blocks in parsed:
        if not blocks:
            print(f"FAILED: {doc}: no doc-test blocks (this test runs the blocks a doc marks)")
            return 1
    if args.list:
        for doc, blocks in parsed:
            for b in blocks:
                print(f"{doc}:{b.line}: {b.kind}{'' if b.status == 0 else f' exit {b.status}'}")
        return 0

    env = dict(os.environ)
    mnist = env.get("MNIST_DIR", "")
    if args.needs_mnist and not mnist:
        print("MNIST_DIR is not set: skipped (these examples read the MNIST files)")
        return 77
    if mnist:
        env["MNIST_DIR"] = os.path.abspath(mnist)
    bin_dir = os.path.abspath(args.bin_dir)
    if not os.path.isdir(bin_dir):
        print(f"FAILED: --bin-dir {bin_dir}: not a directory")
        return 1
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["CUDA_VISIBLE_DEVICES"] = ""

    failures = 0
    count = 0
    for doc, blocks in parsed:
        failures += run_doc(doc, blocks, env, args.timeout)
        count += len(blocks)
    verdict = "FAILED" if failures else "PASSED"
    print(f"run_doc_examples: {count} blocks in {len(parsed)} docs, {failures} failed: {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
