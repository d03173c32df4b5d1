"""``python -m autotimm_widgets.demo.train``: reproduce the demo weights on the CPU.

Trains the demo CNN, then the hybrid ViT (its ResNet trunk starts from the trained CNN's
stem and first three stages, as hybrid ViTs start from a trained ResNet), on 3000
generated scenes; prints the exact-match accuracy on 1000 held-out scenes and the GradCAM
pointing game; writes ``weights/{cnn,vit}.safetensors`` in float16. Accuracy is measured
after that rounding, on what ships.

Deterministic: every random draw is seeded, ``torch.use_deterministic_algorithms`` is on
and the thread count is fixed (``--threads``, default 1: one thread is also the fastest
choice on a shared machine), so the same torch build on the same kind of CPU writes
bit-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from .data import CLASS_NAMES, DemoImage, demo_images
from .evaluate import exact_match_accuracy, images_to_tensor, labels_to_tensor, normalize_pixels, pointing_game, predict
from .models import ARCHITECTURES, MEAN, METADATA_KEY, STD, build_model, cnn_trunk_state, weights_path

TRAIN_SEED = 1  # the training scenes: demo_images(N_TRAIN, seed=1)
HELD_OUT_SEED = 0  # the held-out scenes: demo_images(n, seed=0), also demo_images' default
N_TRAIN = 3000
N_HELD_OUT = 1000
N_POINTING = 200  # held-out scenes for the GradCAM pointing game
WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class Recipe:
    """AdamW, linear warm-up then cosine decay, mini-batches of ``batch_size``, random square symmetries."""

    epochs: int
    lr: float
    weight_decay: float
    warmup_epochs: float = 1.0
    batch_size: int = 32
    seed: int = 0


RECIPES = {
    "cnn": Recipe(epochs=8, lr=3e-3, weight_decay=1e-4),
    "vit": Recipe(epochs=4, lr=1e-3, weight_decay=0.05),
}


def set_deterministic(threads: int) -> None:
    """Fixed thread count and deterministic kernels, so that reruns are bit-identical."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def augment(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random symmetry of the square per image (flips and a transpose); every class is invariant to them."""
    flips = torch.rand(3, pixels.shape[0], generator=generator) < 0.5
    pixels = torch.where(flips[0].view(-1, 1, 1, 1), pixels.flip(-1), pixels)
    pixels = torch.where(flips[1].view(-1, 1, 1, 1), pixels.flip(-2), pixels)
    return torch.where(flips[2].view(-1, 1, 1, 1), pixels.transpose(-1, -2), pixels)


def train(model: nn.Module, pixels: torch.Tensor, labels: torch.Tensor, recipe: Recipe, log=print) -> nn.Module:
    """Train ``model`` with BCE on (N, 3, H, W) uint8 ``pixels`` and (N, K) bool ``labels``; returns it in eval mode."""
    model.train().to(memory_format=torch.channels_last)  # faster CPU convolutions
    generator = torch.Generator().manual_seed(recipe.seed)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "pos_embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1 or "pos_embed" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe.lr,
    )
    steps_per_epoch = len(pixels) // recipe.batch_size
    total, warmup = recipe.epochs * steps_per_epoch, recipe.warmup_epochs * steps_per_epoch
    decay_steps = max(total - warmup, 1)  # a run no longer than its warm-up (quick checks) has no decay
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / decay_steps)),
    )
    targets = labels.float()
    for epoch in range(recipe.epochs):
        start, running = time.perf_counter(), torch.zeros(())
        order = torch.randperm(len(pixels), generator=generator)
        for step in range(steps_per_epoch):
            index = order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            inputs = normalize_pixels(augment(pixels[index], generator), MEAN, STD).contiguous(
                memory_format=torch.channels_last
            )
            loss = F.binary_cross_entropy_with_logits(model(inputs), targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running += loss.detach()
        log(
            f"  epoch {epoch + 1}/{recipe.epochs}: loss {running.item() / steps_per_epoch:.4f} ({time.perf_counter() - start:.0f} s)"
        )
    return model.eval().to(memory_format=torch.contiguous_format)


def half_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with floating tensors stored as float16 (what ships)."""
    return {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}


def gradcam_pointing(model: nn.Module, scenes: list[DemoImage]) -> float:
    """GradCAM (default layer) pointing game of ``model`` on ``scenes``."""
    from ..interpretation import GradCAM  # the demo itself does not depend on the explainers

    return pointing_game(GradCAM(model, use_cuda=False), scenes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(ARCHITECTURES), default=["cnn", "vit"])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for the .safetensors files")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-train", type=int, default=N_TRAIN, help="training scenes (fewer for a quick check)")
    parser.add_argument("--epochs", type=int, default=None, help="override every recipe's epochs (quick checks)")
    args = parser.parse_args(argv)

    set_deterministic(args.threads)
    began = time.perf_counter()
    train_set, held_out = demo_images(args.n_train, TRAIN_SEED), demo_images(N_HELD_OUT, HELD_OUT_SEED)
    pixels, labels = images_to_tensor(train_set), labels_to_tensor(train_set)
    test_pixels, test_labels = images_to_tensor(held_out), labels_to_tensor(held_out)
    print(
        f"generated {len(train_set)} training and {len(held_out)} held-out scenes in {time.perf_counter() - began:.0f} s"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    for kind in ("cnn", "vit"):
        if kind not in args.models:
            continue
        recipe = RECIPES[kind] if args.epochs is None else replace(RECIPES[kind], epochs=args.epochs)
        start = time.perf_counter()
        torch.manual_seed(recipe.seed)
        model = build_model(kind)
        if kind == "vit":  # the hybrid's trunk starts from the trained CNN's (float16, as shipped)
            trained = args.out / "cnn.safetensors"
            with resources.as_file(trained if trained.exists() else weights_path("cnn")) as file:
                cnn_state = load_file(file)
            model.patch_embed.proj.trunk.load_state_dict({k: v.float() for k, v in cnn_trunk_state(cnn_state).items()})
        print(f"training the {kind} ({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters)")
        model = train(model, pixels, labels, recipe)
        state = half_state(model)
        model.load_state_dict(state)  # measure what ships: the float16-rounded weights
        accuracy = exact_match_accuracy(predict(model, test_pixels, MEAN, STD), test_labels)
        seconds = time.perf_counter() - start
        pointing = gradcam_pointing(model, held_out[:N_POINTING])
        name, kwargs = ARCHITECTURES[kind]
        metadata = {
            "architecture": name,
            "architecture_args": {
                k: v if isinstance(v, (int, float, str, tuple)) else v.__name__ for k, v in kwargs.items()
            },
            "class_names": list(CLASS_NAMES),
            "held_out_exact_match": round(accuracy, 4),
            "held_out": {"seed": HELD_OUT_SEED, "n": N_HELD_OUT},
            "gradcam_pointing_game": {"value": round(pointing, 4), "n_scenes": N_POINTING},
            "train": {"seed": TRAIN_SEED, "n": args.n_train, "recipe": asdict(recipe)},
            "torch": torch.__version__,
        }
        path = args.out / f"{kind}.safetensors"
        # one metadata entry: safetensors writes several in a random order, and the file must be reproducible
        save_file(state, str(path), metadata={METADATA_KEY: json.dumps(metadata, sort_keys=True)})
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(
            f"{kind}: held-out exact-match accuracy {accuracy:.1%} ({N_HELD_OUT} scenes), "
            f"GradCAM pointing game {pointing:.3f} ({N_POINTING} scenes); trained in {seconds:.0f} s; "
            f"{path} ({path.stat().st_size / 1e6:.2f} MB, sha256 {digest}...)"
        )
    print(f"total {time.perf_counter() - began:.0f} s wall, {time.process_time():.0f} s CPU")


if __name__ == "__main__":
    main()
