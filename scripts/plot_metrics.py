#!/usr/bin/python3
# Draws training curves from the metrics files of `train_mnist --metrics FILE` (JSON Lines:
# docs/training.md) into one PNG or SVG: loss against epochs (each batch record as a line, each
# epoch's mean as a marker) and train and test accuracy per epoch, one colour per file.
#
#   scripts/plot_metrics.py RUN.jsonl [MORE.jsonl ...] -o curves.png [--label NAME ...]
#
# The legend names a run by its recipe ("cpu, batch 64, lr 0.001"), by its file name where two
# runs share a recipe, or by the i-th --label. A run that ended early (interrupted, diverged, or
# killed before its end record) draws what it has, and its label says so.
# Exit status: 0 drawn, 1 a file cannot be read or drawn, 2 a usage error; errors are one line.
#
# /usr/bin/python3 is the distribution's interpreter, where scripts/install-deps.sh puts
# python3-matplotlib; `python3 scripts/plot_metrics.py ...` uses another one that has matplotlib.
import argparse
import json
import math
import os
import sys

PROG = "plot_metrics"


class BadFile(Exception):
    """A metrics file that cannot be drawn; the message names the file (and line)."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        print(f"{PROG}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def number(value, where, record, key):
    if value is None:
        return math.nan  # e.g. a diverged loss (JSON has no NaN) or a skipped evaluation
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadFile(f"{where}: {record} record: \"{key}\" is {json.dumps(value)}, "
                      "not a number")
    return float(value)


def field(obj, key, where, record):
    if key not in obj:
        raise BadFile(f"{where}: {record} record has no \"{key}\"")
    return obj[key]


def read_run(path):
    """Reads one metrics file: {"recipe", "batches": [(x, loss)], "epochs": [...], "end"}."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise BadFile(f"{path}: cannot read: {reason}") from None
    lines = text.split("\n")
    run = {"path": path, "recipe": None, "batches": [], "epochs": [], "end": None}
    for lineno, line in enumerate(lines, start=1):
        where = f"{path}:{lineno}"
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            if lineno == len(lines) and run["recipe"] is not None:
                # The last line, cut off without its newline: the writer was killed mid-line.
                print(f"{PROG}: warning: {where}: incomplete last line ignored (the run was "
                      "killed while writing it?)", file=sys.stderr)
                break
            hint = ""
            if lineno == 1:
                try:
                    json.loads(text)
                    hint = "; the file is one JSON document, not JSON Lines (an older " \
                           "train_mnist --metrics?)"
                except json.JSONDecodeError:
                    pass
            raise BadFile(f"{where}: not JSON ({e.msg}, column {e.colno}){hint}") from None
        if not isinstance(record, dict):
            raise BadFile(f"{where}: not a JSON object")
        kind = record.get("type")
        if run["recipe"] is None:
            if kind != "recipe":
                raise BadFile(f"{where}: no recipe record: the first record has type "
                              f"{json.dumps(kind)} (is this a train_mnist --metrics file?)")
            run["recipe"] = record
        elif kind == "batch":
            if "progress" in record:
                x = number(record["progress"], where, kind, "progress")
            else:
                epoch = number(field(record, "epoch", where, kind), where, kind, "epoch")
                batch = number(field(record, "batch", where, kind), where, kind, "batch")
                batches = number(field(record, "batches", where, kind), where, kind, "batches")
                x = epoch - 1 + batch / batches
            loss = number(field(record, "loss", where, kind), where, kind, "loss")
            run["batches"].append((x, loss))
        elif kind == "epoch":
            epoch = {"epoch": number(field(record, "epoch", where, kind), where, kind, "epoch")}
            for key in ("loss", "train_accuracy", "test_accuracy"):
                epoch[key] = number(record.get(key), where, kind, key)
            run["epochs"].append(epoch)
        elif kind == "end":
            run["end"] = record
        # Other record types, from a newer train_mnist, are not drawn.
    if run["recipe"] is None:
        raise BadFile(f"{path}: empty: no recipe record")
    if not run["batches"] and not run["epochs"]:
        raise BadFile(f"{path}: no batch or epoch records to draw (the run stopped before its "
                      "first --log-every batches)")
    return run


def recipe_label(recipe):
    parts = []
    if recipe.get("backend") is not None:
        parts.append(str(recipe["backend"]))
    if recipe.get("batch_size") is not None:
        parts.append(f"batch {recipe['batch_size']}")
    if isinstance(recipe.get("lr"), (int, float)):
        parts.append(f"lr {recipe['lr']:g}")
    return ", ".join(parts)


def labels_for(runs, given):
    base = [recipe_label(run["recipe"]) for run in runs]
    names = [os.path.basename(run["path"]) for run in runs]
    if len(set(names)) < len(names):
        names = [run["path"] for run in runs]
    labels = []
    for i, run in enumerate(runs):
        if i < len(given):
            labels.append(given[i])
            continue
        label = base[i] if base[i] and base.count(base[i]) == 1 else names[i]
        end = run["end"]
        status = end.get("status") if isinstance(end, dict) else None
        if end is None:
            label += " (no end record)"
        elif status != "finished":
            label += f" ({status})"
        labels.append(label)
    return labels


def main(argv):
    parser = Parser(
        prog="plot_metrics.py",
        description="Draw loss and accuracy against epochs from train_mnist --metrics files.")
    parser.add_argument("files", nargs="+", metavar="RUN.jsonl",
                        help="metrics files (JSON Lines) of train_mnist --metrics")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the figure to write: FILE.png or FILE.svg")
    parser.add_argument("--label", action="append", default=[], metavar="NAME",
                        help="legend name of the next file, in order (repeatable)")
    args = parser.parse_args(argv)
    fmt = os.path.splitext(args.output)[1].lower().lstrip(".")
    if fmt not in ("png", "svg"):
        parser.error(f"-o {args.output}: the name must end in .png or .svg")
    if len(args.label) > len(args.files):
        parser.error(f"more --label options ({len(args.label)}) than files ({len(args.files)})")

    try:
        import matplotlib
    except ImportError:
        print(f"{PROG}: error: matplotlib is missing for {sys.executable} (install "
              "python3-matplotlib: scripts/install-deps.sh)", file=sys.stderr)
        return 1
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    try:
        runs = [read_run(path) for path in args.files]
    except BadFile as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    labels = labels_for(runs, args.label)

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (run, label) in enumerate(zip(runs, labels)):
        colour = colours[i % len(colours)]
        if run["batches"]:
            xs, ys = zip(*run["batches"])
            ax_loss.plot(xs, ys, color=colour, linewidth=1, alpha=0.8, label=label,
                         marker="." if len(xs) == 1 else None)  # one record: a dot, not a line
        epochs = run["epochs"]
        if epochs:
            xs = [e["epoch"] for e in epochs]
            ax_loss.plot(xs, [e["loss"] for e in epochs], linestyle="none", marker="o",
                         color=colour, markeredgecolor="black",
                         label=None if run["batches"] else label)
            ax_acc.plot(xs, [e["train_accuracy"] for e in epochs], color=colour, marker="o",
                        label=label)
            ax_acc.plot(xs, [e["test_accuracy"] for e in epochs], color=colour, marker="s",
                        linestyle="--")

    ax_loss.set_title("training loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy (line: batches, dots: epoch means)")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(fontsize="small")
    ax_acc.set_title("accuracy")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("%")
    ax_acc.grid(alpha=0.3)
    if any(run["epochs"] for run in runs):
        styles = [Line2D([], [], color="gray", marker="o", label="train"),
                  Line2D([], [], color="gray", marker="s", linestyle="--", label="test")]
        ax_acc.legend(handles=styles, fontsize="small")
    else:
        ax_acc.text(0.5, 0.5, "no epoch finished", ha="center", va="center",
                    transform=ax_acc.transAxes, color="gray")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.get_major_locator().set_params(integer=True)

    try:
        fig.savefig(args.output, format=fmt, dpi=120)
    except OSError as e:
        print(f"{PROG}: error: cannot write {args.output}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"{PROG}: wrote {args.output} ({len(runs)} run{'s' if len(runs) != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
