"""Markdown for RESULTS.md from the workers' JSON results (no measuring here)."""

from __future__ import annotations

from benchmarks import flops as flops_module


def num(x: float | None, digits: int = 3) -> str:
    """A number with `digits` significant digits, thousands separated, no exponent."""
    if x is None:
        return "n/a"
    if x == 0:
        return "0"
    magnitude = len(str(int(abs(x)))) if abs(x) >= 1 else 0
    decimals = max(0, digits - magnitude) if abs(x) >= 1 else digits
    return f"{x:,.{decimals}f}"


def stats_cells(s: dict, digits: int = 3) -> list[str]:
    """[median, IQR, min-max] of a timing.Stats dict."""
    return [f"**{num(s['median'], digits)}**", f"{num(s['q1'], digits)} - {num(s['q3'], digits)}",
            f"{num(s['min'], digits)} - {num(s['max'], digits)}"]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def failure(name: str, error: str) -> str:
    return f"**{name}: not measured.**\n\n```\n{error.strip()[-1500:]}\n```\n"


def training_section(results: dict[str, dict | str], pythae: dict | str | None,
                     pythae_note: str) -> str:
    out = []
    for backend, r in results.items():
        if isinstance(r, str):
            out.append(failure(f"KERAS_BACKEND={backend}", r))
            continue
        out.append(f"**KERAS_BACKEND={backend}** (batch {r['batch_size']}; parameter counts: "
                   + ", ".join(f"{k} {v:,}" for k, v in r["params"].items()) + ")\n")
        rows = [[case, *stats_cells(s), r["steps"][case]]
                for case, s in r["samples_per_s"].items()]
        out.append(table(["case", "samples/s median", "IQR", "min - max", "steps/repeat"], rows))
    references = [name for r in results.values() if isinstance(r, dict)
                  for name in r["ratios"]]
    references = list(dict.fromkeys(references))  # JAX's process adds "kerasae / JAX loop"
    ratio_rows = []
    for backend, r in results.items():
        if isinstance(r, dict):
            ratio_rows.append([backend] + [
                f"**{num(r['ratios'][ref]['median'])}** ({num(r['ratios'][ref]['q1'])} - "
                f"{num(r['ratios'][ref]['q3'])})" if ref in r["ratios"] else ""
                for ref in references])
    if ratio_rows:
        out.append("Ratios of samples/s, median of the per-round ratios (IQR); > 1 means kerasae "
                   "is faster:\n")
        out.append(table(["Keras backend", *(ref.replace("kerasae /", "kerasae fit /")
                                             for ref in references)], ratio_rows))
    out.append("\n**pythae** (" + pythae_note + ")\n")
    if isinstance(pythae, dict):
        out.append(f"pythae {pythae['pythae_version']}, torch {pythae['torch_version']} "
                   f"({pythae['torch_threads']} threads), batch {pythae['batch_size']}, "
                   "parameter counts: " +
                   ", ".join(f"{k} {v:,}" for k, v in pythae["params"].items()) + "\n")
        rows = [[case, *stats_cells(s), pythae["steps"][case]]
                for case, s in pythae["samples_per_s"].items()]
        out.append(table(["case", "samples/s median", "IQR", "min - max", "steps/repeat"], rows))
        rows = [[k, f"**{num(s['median'])}** ({num(s['q1'])} - {num(s['q3'])})"]
                for k, s in pythae["ratios"].items()]
        out.append(table(["ratio", "median (IQR)"], rows))
    elif isinstance(pythae, str):
        out.append(failure("pythae", pythae))
    return "\n".join(out)


def inference_section(results: dict[str, dict | str], export: dict | str) -> str:
    out = []
    if isinstance(export, str):
        return failure("export", export)
    out.append("Export times (TensorFlow backend): " + ", ".join(
        f"{k} {v:.2f} s" for k, v in export["export_seconds"].items()) + "\n")
    for backend, r in results.items():
        if isinstance(r, str):
            out.append(failure(f"KERAS_BACKEND={backend}", r))
            continue
        for b, per in r["batch_sizes"].items():
            out.append(f"**KERAS_BACKEND={backend}, preset {r['preset']}, batch {b}**\n")
            rows = []
            for path, s in per["examples_per_s"].items():
                ratio = per["vs_reconstruct"][path]["median"]
                latency = 1e3 * int(b) / s["median"]
                rows.append([path, *stats_cells(s), f"{latency:.3g}", f"{num(ratio)}x",
                             f"{per['max_abs_diff_vs_reconstruct'][path]:.1e}"])
            out.append(table(["path", "examples/s median", "IQR", "min - max", "ms/call",
                              "vs reconstruct", "max abs diff"], rows))
    return "\n".join(out)


def startup_section(r: dict | str) -> str:
    if isinstance(r, str):
        return failure("startup", r)
    rows = []
    for backend, per in r["backends"].items():
        keras_import = per["import keras"]["import"]
        kae = per["import kerasae + load"]
        rows.append([backend, *[f"{num(x['median'])} ({num(x['min'])} - {num(x['max'])})" for x in
                                (keras_import, kae["import"], kae["load"], kae["load_again"],
                                 kae["process_wall"])]])
    return table(["backend", "import keras s", "import kerasae s", "load('vae_mnist') s",
                  "second load s", "whole process s (python start + import + 2 loads)"], rows)


def flops_section(fl: dict | str, training: dict[str, dict | str]) -> str:
    if isinstance(fl, str):
        return failure("FLOPs", fl)
    out = [flops_module.__doc__.split("\n\n")[1].replace("\n", " ") + "\n"]
    rows = [[name, f"{macs:,}", f"{2 * macs:,}"] for name, macs in fl["layers"].items()]
    rows.append(["**total forward**", f"{fl['forward_flops_per_example'] // 2:,}",
                 f"{fl['forward_flops_per_example']:,}"])
    out.append(table(["layer", "MACs / example", "forward FLOPs / example"], rows))
    train = fl["training_flops_per_example"]
    out.append(f"Training FLOPs per example = 3 x {fl['forward_flops_per_example']:,} = "
               f"**{train:,}** ({train / 1e6:.1f} MFLOP).\n")
    rows = [[n, *[num(s[k] / 1e9) for k in ("median", "q1", "q3", "min", "max")]]
            for n, s in fl["sizes"].items()]
    out.append("Matrix-multiply peak (float32 n x n @ n x n, TensorFlow, GFLOP/s):\n")
    out.append(table(["n", "median", "q1", "q3", "min", "max"], rows))
    peak = fl["peak_flops"]
    out.append(f"Peak used below: **{peak / 1e9:.1f} GFLOP/s** (the best median).\n")
    rows = []
    for backend, r in training.items():
        if isinstance(r, str):
            continue
        for case, s in r["samples_per_s"].items():
            achieved = s["median"] * train
            rows.append([backend, case, num(s["median"]), num(achieved / 1e9),
                         f"{100 * achieved / peak:.1f} %"])
    if rows:
        out.append(table(["Keras backend process", "case", "samples/s", "achieved GFLOP/s",
                          "of matmul peak"], rows))
    else:
        out.append("(No achieved FLOP/s: section 1 was not run.)\n")
    return "\n".join(out)


def scale_section(rows_in: list[dict], notes: list[str]) -> str:
    rows = []
    for r in rows_in:
        if "error" in r:
            rows.append([r["source"], f"{r['n']:,}", "failed: " + r["error"][-200:].replace(
                "\n", " ")] + [""] * 7)
            continue
        growth = r["peak_rss_mib"] - r["peak_rss_before_fit_mib"]
        rows.append([r["source"], f"{r['n']:,}", f"{r['steps']:,}", num(r["wall_s"]),
                     num(r["us_per_example_steady"]), num(r["us_per_example_wall"]),
                     num(r["rss_before_fit_mib"]), num(r["peak_rss_mib"]), num(growth),
                     num(r["final_loss"])])
    out = [table(["source", "examples", "steps", "fit wall s", "us/example (steady)",
                  "us/example (wall)", "RSS before fit MiB", "peak RSS MiB",
                  "peak growth during fit MiB", "final loss"], rows)]
    out += [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def speed_section(results: dict[str, dict | str]) -> str:
    out = []
    for backend, r in results.items():
        if isinstance(r, str):
            out.append(failure(f"KERAS_BACKEND={backend}", r))
            continue
        checks = (f"zero-insertion layer vs Conv2DTranspose max abs diff "
                  f"{r['zero_insert_max_abs_diff']:.1e}")
        if r.get("adjoint_gradient_max_rel_diff") is not None:
            checks += (f"; adjoint-gradient layer: outputs max abs diff "
                       f"{r['adjoint_max_abs_diff']:.1e}, gradients max relative diff "
                       f"{r['adjoint_gradient_max_rel_diff']:.1e}")
        out.append(f"**KERAS_BACKEND={backend}** (batch {r['batch_size']}; {checks})\n")
        rows = []
        for name, s in r["samples_per_s"].items():
            v = r["vs_default"][name]
            rows.append([name, *stats_cells(s), f"**{num(v['median'])}x** "
                         f"({num(v['q1'])} - {num(v['q3'])})", r["steps"][name]])
        out.append(table(["variant", "samples/s median", "IQR", "min - max",
                          "vs default (paired)", "steps/repeat"], rows))
        c = r["check_inputs_seconds"]
        out.append(f"`fit`'s input check (`check_inputs`: shape, finite, range) on "
                   f"{c['samples']:,} MNIST images: {c['seconds'] * 1e3:.0f} ms per `fit` "
                   "call.\n")
    return "\n".join(out)


# A slow-mode epoch: the process used under 1.3 cores while the rest of the machine used under
# 0.2 (so load does not explain it). On 2026-12-02 its two intra-op threads still split the
# work evenly (busiest thread ~0.46) in such epochs: they took turns instead of running at once.
SLOW_CORES, IDLE_OTHERS = 1.3, 0.2


def tf_modes_section(r: dict | str) -> str:
    """Per-epoch figures of benchmarks.tf_modes, one row per configuration."""
    if isinstance(r, str):
        return failure("tf_modes", r)
    rows = []
    for config, epochs in r["configs"].items():
        s = r["summary"][config]
        slow = sum(e["cores"] < SLOW_CORES and e["other_cores"] < IDLE_OTHERS for e in epochs)
        rows.append([config, *stats_cells(s["samples_per_s"]),
                     f"{num(s['cores']['median'], 2)} ({num(s['cores']['min'], 2)} - "
                     f"{num(s['cores']['max'], 2)})",
                     f"{num(s['cpu_ms_per_step']['median'])} ({num(s['cpu_ms_per_step']['q1'])} - "
                     f"{num(s['cpu_ms_per_step']['q3'])})",
                     f"{num(s['busiest_thread_share']['median'], 2)} "
                     f"({num(s['busiest_thread_share']['max'], 2)})",
                     f"{slow} of {len(epochs)}", num(s["other_cores"]["median"], 2)])
    head = (f"net {r['net']} (batch {r['batch_size']}), {r['rounds']} rounds x "
            f"{r['epochs_per_process']} epochs of {r['steps_per_epoch']} steps per process\n")
    return head + "\n" + table(
        ["configuration", "samples/s median", "IQR", "min - max", "cores used median (min - max)",
         "CPU ms/step median (IQR)", "busiest thread's share median (max)",
         f"slow epochs (< {SLOW_CORES} cores, others < {IDLE_OTHERS})",
         "other processes' cores median"], rows)


def _guard_cell(x: dict) -> str:
    if "guard_ms_per_epoch" not in x:  # runs before the guard was measured
        return "-"
    return f"{num(x['guard_ms_per_epoch'])} ({num(x['guard_share_of_epoch'] * 100)}%)"


def recipes_section(r: dict | str) -> str:
    """benchmarks.recipes_bench: samples/s and projected wall time per recipe."""
    if isinstance(r, str):
        return failure("recipes", r)
    rows = [[name, x["variant"], "x".join(map(str, x["input_shape"])), x["batch_size"],
             x["epochs"], f"{x['examples_per_epoch']:,}", *stats_cells(x["samples_per_s"]),
             f"**{num(x['projected_hours'], 2)}**", _guard_cell(x)]
            for name, x in r["recipes"].items()]
    out = [f"KERAS_BACKEND={r['backend']}\n", table(
        ["recipe", "variant", "input", "batch", "epochs", "examples/epoch", "samples/s median",
         "IQR", "min - max", "projected wall h", "finite guard per epoch: ms (share)"], rows)]
    if r.get("skipped"):
        out.append("\nNot measured: " + "; ".join(f"{k} ({v})" for k, v in r["skipped"].items()))
    return "\n".join(out)
