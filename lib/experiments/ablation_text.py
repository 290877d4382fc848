"""The ablation chapter's paragraphs that cite a part's numbers, computed from its facts (MyST, glued as Markdown).

A part of the chapter (checkpoint interval, Markov order, encoder, model size) whose collections are incomplete is
left out (`ablations.Skipped`). Its number-citing paragraphs would then read "nan" or "n/a", so they are written
here: the findings where the part ran, nothing where it was left out (the page shows the part's `Skipped.sentence`
where its figure would be), and in the Reading the part's findings or its `Skipped.sentence`.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from lib.experiments.ablations import AblationResult, skipped_text
from lib.experiments.settings import task_label
from lib.experiments.wording import join_words

PARTS = ("interval", "order", "encoder", "size")
TEXT_KEYS: dict[str, tuple[str, ...]] = {
    "interval": ("interval_text_setup", "interval_text_values", "interval_text_how", "interval_text_claims",
                 "reading_interval"),
    "order": ("order_text_setup", "order_text_values", "order_text_table", "order_text_how", "order_text_claims",
              "reading_order"),
    "encoder": ("encoder_text_setup", "encoder_text_values", "reading_encoder"),
    "size": ("size_text_setup", "size_text_table", "size_text_how", "size_text_claims", "reading_size"),
}
"""The keys `texts` returns per part (the page cites them with {glue:md}`key:myst`)."""
READING_TITLES = {"interval": "Checkpoint interval.", "order": "Markov order.", "encoder": "Encoder.",
                  "size": "Model size."}


def g3(value) -> str:
    """A number as the page formatted it before (3 significant digits, '#.3g'); 'not computed' when not finite."""
    value = float(value)
    return f"{value:#.3g}" if math.isfinite(value) else "not computed"


def then(*sentences: str) -> str:
    """Sentences joined by a space, the empty ones (e.g. a claim's '_why' when it has a verdict) left out."""
    return " ".join(s for s in sentences if s)


def interval_texts(f: Mapping[str, object], tasks: Sequence[str]) -> dict[str, str]:
    """The checkpoint-interval paragraphs (paper Figure 3) from the part's facts, averaged over `tasks` (those whose
    collections are complete)."""
    k, names = f["interval_max"], join_words([task_label(t) for t in tasks])
    return {
        "interval_text_setup": (
            f"**Which $k$ mean something here.** Our runs on {names} have $T$ = "
            f"{f['interval_steps']} steps; the paper's Figure 3 runs have {f['interval_paper_checkpoints']} "
            f"checkpoints left at $k = 10$. Of the candidates {f['interval_candidates']} we use those below $T$ "
            f"({f['interval_list']}), which leave at least one recorded checkpoint between step 0 and $T$; at "
            f"$k = {k}$ only {f['interval_min_checkpoints']} recorded steps remain after step 0 in the shortest runs, so "
            "the large intervals here are much coarser approximations than the paper's $k = 10$: our curve covers "
            "the paper's range of $k$, not its range of checkpoints per run."),
        "interval_text_values": (
            f"Averaged over {names}, GPTfluence's all-steps MSE is "
            f"{g3(f['interval_gpt_mse_first'])} at $k = 1$ and {g3(f['interval_gpt_mse_last'])} at $k = {k}$, its "
            f"final-step Spearman's $\\rho$ {g3(f['interval_gpt_spearman_first'])} and "
            f"{g3(f['interval_gpt_spearman_last'])}; Simfluence, trained on the same approximate runs, has MSE "
            f"{g3(f['interval_sim_mse_last'])} and $\\rho$ {g3(f['interval_sim_spearman_last'])} at $k = {k}$. The "
            "paper reports the MSE rising and $\\rho$ falling with $k$, with GPTfluence's $\\rho$ still above "
            "Simfluence's at $k = 10$. The mean over tasks per interval, with in brackets the mean over tasks of each "
            "task's standard deviation across trajectories (across held-out runs for $\\rho$); the reference row of "
            "each $k$ is the mean of the same approximate training runs, and n counts the held-out runs and test "
            "examples of all tasks:"),
        "interval_text_how": (
            f"**How sure.** GPTfluence trained on every step against trained every {k} steps, against Simfluence at "
            f"$k = {k}$, and against the reference: the all-steps MSE difference A minus B (negative: A is better) "
            "with its 95% paired bootstrap interval, per task and over the tasks (each task's held-out runs are their "
            "own curricula, so the interval of the average draws whole (task, run) units and also covers how the "
            "difference varies between tasks):"),
        "interval_text_claims": then(
            f"Over {names} ({f['interval_dense_n']}), GPTfluence's MSE at $k = 1$ minus its MSE "
            f"at $k = {k}$ is {f['interval_dense_diff']} (95% interval {f['interval_dense_interval']}): the paper's "
            f"finding that denser checkpoints help: **{f['interval_dense_claim']}** here.",
            str(f["interval_dense_why"]),
            f"Task by task, the densest interval is {f['interval_dense_groups']}. At $k = {k}$, GPTfluence's MSE "
            f"minus Simfluence's is {f['interval_gs_last_diff']} ({f['interval_gs_last_interval']}; that GPTfluence "
            f"is better there: {f['interval_gs_last_claim']}). Against the curriculum-blind reference, GPTfluence's "
            f"difference is {f['interval_gr_first_diff']} ({f['interval_gr_first_interval']}: "
            f"{f['interval_gr_first_claim']}) at $k = 1$ and {f['interval_gr_last_diff']} "
            f"({f['interval_gr_last_interval']}: {f['interval_gr_last_claim']}) at $k = {k}$."),
        "reading_interval": (
            f"Trained on runs recorded every $k$ steps and scored at every step, GPTfluence at $k = 1$ against "
            f"$k = {k}$: difference {f['interval_dense_diff']} (interval {f['interval_dense_interval']}, "
            f"{f['interval_dense_n']}): the paper's finding that denser checkpoints help "
            f"**{f['interval_dense_claim']}** here. At $k = {k}$, that GPTfluence beats Simfluence: "
            f"{f['interval_gs_last_claim']} (the paper: better in $\\rho$ at $k = 10$)."),
    }


def order_task_sentence(f: Mapping[str, object], task: str) -> str:
    """One task's Markov-order values on the loss, given the same prefix (RTE and WebNLG with the paper's finding)."""
    key, top = f"order_{task}_loss", f["order_max"]
    rho = (f"{g3(f[f'{key}_rho_first_same'])} at $n = 1$ and {g3(f[f'{key}_rho_last_same'])} at $n = {top}$")
    if task == "rte":
        return (f"Given the same prefix, GPTfluence's final-step $\\rho$ on RTE loss is {rho} (the paper's Table 10: "
                f"{f['order_paper_rte_rho_first']} at $n = 1$ and {f['order_paper_rte_rho_last']} at "
                f"$n = {f['order_paper_max']}$), and its lowest all-steps MSE is at $n = {f[f'{key}_best_mse_same']}$ "
                f"($n = {f[f'{key}_best_mse_own']}$ on each order's own steps).")
    paper = " (the paper: $\\rho$ does not rise with $n$ on WebNLG)" if task == "webnlg" else ""
    return (f"On {task_label(task)} loss, given the same prefix, $\\rho$ is {rho}, and the lowest MSE is at "
            f"$n = {f[f'{key}_best_mse_same']}${paper}.")


def order_texts(f: Mapping[str, object], tasks: Sequence[str]) -> dict[str, str]:
    """The Markov-order paragraphs (paper Figure 4 and Table 10) from the part's facts, on the loss of `tasks` (those
    whose collections are complete)."""
    names, top = join_words([task_label(t) for t in tasks]), f["order_max"]
    return {
        "order_text_setup": (
            f"With $T$ = {f['order_steps']} steps we keep the orders that still leave at least "
            f"{f['order_min_predicted']} predicted steps: {f['order_list']} (left out: {f['order_dropped']}); so "
            f"$N$ = {f['order_prefix']}."),
        "order_text_values": then(*(order_task_sentence(f, t) for t in tasks),
                                  "These single values carry no interval; the comparisons below do."),
        "order_text_table": (
            "Our numbers, on the same prefix and on each order's own steps, beside the paper's Table 10 (value and, "
            "in brackets, the standard deviation; \"-\" where an order was left out; n: our held-out runs x test "
            "examples):"),
        "order_text_how": (
            "**How sure.** On the same prefix (every order scored on steps $N..T$), the highest order against order "
            "1, order 1 against Simfluence, and both against the reference: the all-steps MSE difference A minus B "
            f"with its 95% paired bootstrap interval, per (task, target) and over the loss of {names} (the paper's "
            "Figure 4 is on the loss; each collection its own runs):"),
        "order_text_claims": then(
            f"Over the loss of {names} ({f['order_high_n']}), the order-{top} GPTfluence's MSE minus the order-1 "
            f"GPTfluence's is {f['order_high_diff']} (95% interval {f['order_high_interval']}): that a higher Markov "
            f"order helps: **{f['order_high_claim']}** here.",
            str(f["order_high_why"]),
            f"Setting by setting, the highest order is {f['order_high_groups']}. Order 1 against Simfluence: "
            f"{f['order_gs_diff']} ({f['order_gs_interval']}: {f['order_gs_claim']}); against the curriculum-blind "
            f"reference, order 1 {f['order_gr_low_diff']} ({f['order_gr_low_interval']}: {f['order_gr_low_claim']}) "
            f"and order {top} {f['order_gr_high_diff']} ({f['order_gr_high_interval']}: "
            f"{f['order_gr_high_claim']}). The paper's Table 10 caption says instruction tuning, but its values "
            "equal its fine-tuning Table 2 (the reference CSV notes this); ours are fine-tuning runs, like the rest "
            "of this chapter but the encoder section."),
        "reading_order": (
            f"Given the same true prefix, that the highest order beats order 1: **{f['order_high_claim']}** "
            f"(difference {f['order_high_diff']}, interval {f['order_high_interval']}, {f['order_high_n']}). The "
            f"paper's gains from higher orders are small (RTE's $\\rho$ from {f['order_paper_rte_rho_first']} to "
            f"{f['order_paper_rte_rho_last']}, MSE from {f['order_paper_rte_mse_first']} to "
            f"{f['order_paper_rte_mse_last']})."),
    }


def encoder_texts(f: Mapping[str, object]) -> dict[str, str]:
    """The encoder paragraphs (paper Figure 5) from the part's facts; the best-against-runner-up comparison only
    where two encoders have an MSE."""
    top = "encoder_runner_up" in f  # two encoders have an MSE
    best = (then(f"its MSE minus the runner-up's ({f['encoder_runner_up']}) is {f['encoder_top_diff']} (95% interval "
                 f"{f['encoder_top_interval']}, {f['encoder_top_n']}): that it is the better encoder: "
                 f"**{f['encoder_top_claim']}**.", str(f["encoder_top_why"])) if top
            else "no other encoder has an MSE to compare it with.")
    return {
        "encoder_text_setup": (
            f"Every encoder is fitted on the same {f['encoder_train_runs']} training runs and scored on "
            f"{f['encoder_same_runs']} {f['encoder_test_runs']} held-out run(s)."),
        "encoder_text_values": then(
            "The table above the comparisons shows each encoder's scores (n: held-out runs x test examples); below "
            "it, each comparison's all-steps MSE difference A minus B with its 95% paired bootstrap interval. The "
            f"lowest all-steps MSE comes with **{f['encoder_best_mse']}**; {best}",
            f"MiniLM with mean pooling reaches MSE {g3(f['encoder_mean_mse'])} and $\\rho$ "
            f"{g3(f['encoder_mean_spearman'])}; with CLS pooling {g3(f['encoder_cls_mse'])} and "
            f"{g3(f['encoder_cls_spearman'])}; with this scale's GPT as the encoder (\"{f['encoder_gpt_label']}\") "
            f"{g3(f['encoder_gpt_mse'])} and {g3(f['encoder_gpt_spearman'])}. Simfluence, without features, has "
            f"{g3(f['encoder_sim_mse'])} and {g3(f['encoder_sim_spearman'])}; GPTfluence with the book's encoder "
            f"({f['encoder_default']}) minus Simfluence: {f['encoder_gs_diff']} ({f['encoder_gs_interval']}: "
            f"{f['encoder_gs_claim']}), minus the reference: {f['encoder_gr_diff']} ({f['encoder_gr_interval']}: "
            f"{f['encoder_gr_claim']}). The paper's values are not beside ours: {f['encoder_paper_note']}."),
        "reading_encoder": then(
            f"The best encoder by MSE, {f['encoder_best_mse']}, is {f['encoder_best_mse_kind']};",
            f"that it beats the runner-up: {f['encoder_top_claim']} ({f['encoder_top_n']})." if top
            else "no runner-up to compare it with."),
    }


def size_texts(f: Mapping[str, object]) -> dict[str, str]:
    """The model-size paragraphs (paper Figure 6) from the part's facts."""
    return {
        "size_text_setup": (
            f"Every setting is cut to the same run counts ({f['size_train_runs']} train, {f['size_val_runs']} val, "
            f"{f['size_test_runs']} test); the held-out runs have {f['size_same_held_out']}."),
        "size_text_table": (
            "Ours (SST-2 fine-tuning, one row per GPT and method, the reference included; n: held-out runs x test "
            "examples) beside the paper's per Pythia size (its Table 1: instruction tuning, average over its five "
            "tasks, the 410M, 1B and 2.8B points of Figure 6; the smaller sizes are only drawn in the figure):"),
        "size_text_how": (
            "**How sure.** GPTfluence against Simfluence and both against the reference, per GPT setting and over "
            "both (each setting its own runs): the all-steps MSE difference A minus B with its 95% paired bootstrap "
            "interval:"),
        "size_text_claims": then(
            f"On the largest GPT, {f['size_largest']} ({f['size_gs_n']}), GPTfluence's MSE minus Simfluence's is "
            f"{f['size_gs_diff']} (95% interval {f['size_gs_interval']}): the paper's claim that GPTfluence beats "
            f"Simfluence at every size: **{f['size_gs_claim']}** on it.", str(f["size_gs_why"]),
            f"Per setting, GPTfluence is {f['size_gs_groups']}. Against the curriculum-blind reference over both "
            f"settings, GPTfluence's difference is {f['size_gr_diff']} ({f['size_gr_interval']}: "
            f"{f['size_gr_claim']}) and Simfluence's {f['size_sr_diff']} ({f['size_sr_interval']}: "
            f"{f['size_sr_claim']})."),
        "reading_size": (
            "The paper's claim that GPTfluence beats Simfluence at every size, on the largest GPT here: "
            f"**{f['size_gs_claim']}** (difference {f['size_gs_diff']}, interval {f['size_gs_interval']}, "
            f"{f['size_gs_n']}); per setting, GPTfluence is {f['size_gs_groups']}."),
    }


def texts(result: AblationResult, facts: Mapping[str, object]) -> dict[str, str]:
    """Every paragraph of TEXT_KEYS: a part that ran (even on some of its collections) says its findings, a part
    left out says nothing but its `Skipped.sentence` in the Reading; a Reading entry also names the collections of
    its part that were left out. Each Reading entry starts with its part's title in bold."""
    out: dict[str, str] = {}
    for part in PARTS:
        if not result.has(part):
            out.update(dict.fromkeys(TEXT_KEYS[part], ""))
            written = {f"reading_{part}": skipped_text(result.skipped, part)
                       or "Not run at this scale."}  # left out with no collection named: say so all the same
        elif part == "interval":
            written = interval_texts(facts, list(dict.fromkeys(result.interval["task"])))
        elif part == "order":
            loss = result.orders[result.orders["target"] == "loss"]
            written = order_texts(facts, list(dict.fromkeys(loss["task"])))
        elif part == "encoder":
            written = encoder_texts(facts)
        else:
            written = size_texts(facts)
        out.update(written)
        reading = out[f"reading_{part}"]
        left_out = skipped_text(result.skipped, part) if result.has(part) else ""
        out[f"reading_{part}"] = then(f"**{READING_TITLES[part]}**", reading, left_out)
    return out
