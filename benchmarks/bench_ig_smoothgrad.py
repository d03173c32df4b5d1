"""Integrated Gradients and SmoothGrad on resnet50 at 224 px: ours against Captum and the autograd floor.

Floor: one forward plus one backward of a batch of 50 inputs (``torch.autograd.grad`` of the
summed class logits with respect to the input; no parameter gradients), the least work 50 IG
steps or 50 SmoothGrad samples can take as one batch. Captum's ``IntegratedGradients`` gets the
same input tensor, baseline tensor, class, steps and rule, with ``internal_batch_size=50``.
Ours is timed through the public ``explain`` (resize and normalisation included), with the
defaults (chunks sized by the rule in ``autotimm_widgets/interpretation/_memory.py``) and with
one batch of 50 like Captum. To show where the time goes, Captum and the floor also run in
chunks of our default size. All contenders run interleaved in one process; medians over rounds.

    uv run python benchmarks/bench_ig_smoothgrad.py [--rounds 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse

import timm
import torch
from _timing import compare, device_name
from captum.attr import IntegratedGradients as CaptumIG

from autotimm_widgets.interpretation import GradCAM, IntegratedGradients, SmoothGrad
from autotimm_widgets.interpretation._memory import activation_bytes, rows_that_fit

STEPS = SAMPLES = 50
TARGET = 7


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"

    torch.manual_seed(0)
    model = timm.create_model("resnet50", pretrained=False).eval().to(device)
    x = torch.randn(1, 3, 224, 224, device=device)
    chunk = min(STEPS, rows_that_fit(activation_bytes(model, x), device))  # our default chunk size
    ig_default = IntegratedGradients(model, steps=STEPS, use_cuda=on_gpu)
    ig_one_batch = IntegratedGradients(model, steps=STEPS, use_cuda=on_gpu, internal_batch_size=STEPS)
    black = ig_default.preprocessor.normalize(torch.zeros_like(x))  # the black baseline, the same tensor for Captum
    captum = CaptumIG(model)
    smooth_default = SmoothGrad(GradCAM(model, target_layer="layer4", use_cuda=on_gpu), num_samples=SAMPLES, seed=0)
    smooth_one_batch = SmoothGrad(
        GradCAM(model, target_layer="layer4", use_cuda=on_gpu), num_samples=SAMPLES, batch_size=SAMPLES, seed=0
    )
    batch = x.expand(STEPS, -1, -1, -1).contiguous()
    print(f"device: {device_name(device)}, torch {torch.__version__}, our default chunk: {chunk} rows")

    def floor(size):
        def run():
            for start in range(0, STEPS, size):
                inputs = batch[start : start + size].detach().requires_grad_(True)
                torch.autograd.grad(model(inputs)[:, TARGET].sum(), inputs)

        return run

    def run_captum(size):
        return lambda: captum.attribute(x, baselines=black, target=TARGET, n_steps=STEPS, internal_batch_size=size)

    contenders = {
        "ig": lambda: ig_default.explain(x, target_class=TARGET),
        "ig one batch": lambda: ig_one_batch.explain(x, target_class=TARGET),
        "captum": run_captum(STEPS),
        "captum in chunks": run_captum(chunk),
        "smoothgrad": lambda: smooth_default.explain(x, target_class=TARGET),
        "smoothgrad one batch": lambda: smooth_one_batch.explain(x, target_class=TARGET),
        "floor": floor(STEPS),
        "floor in chunks": floor(chunk),
    }
    times = compare(contenders, args.rounds, device)
    for name, seconds in times.items():
        print(f"{name:>22}: {seconds * 1000:9.1f} ms")

    def ratio(a, b):
        return f"{times[a] / times[b]:.3f}"

    print(
        f"IG, {STEPS} steps (default chunks of {chunk}): ours/captum {ratio('ig', 'captum')}, ours/floor {ratio('ig', 'floor')}"
    )
    print(
        f"  same chunks on all sides: ours/captum {ratio('ig', 'captum in chunks')}, ours/floor {ratio('ig', 'floor in chunks')}"
    )
    print(
        f"  one batch of {STEPS} on all sides: ours/captum {ratio('ig one batch', 'captum')}, ours/floor {ratio('ig one batch', 'floor')}"
    )
    print(
        f"SmoothGrad(GradCAM), {SAMPLES} samples: ours/floor {ratio('smoothgrad', 'floor')}, one batch: ours/floor {ratio('smoothgrad one batch', 'floor')}"
    )


if __name__ == "__main__":
    main()
