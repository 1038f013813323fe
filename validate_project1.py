"""Load woof-dist's fine-tuned models into timm for evaluation with PyTorch.

    from validate_project1 import load_my_models
    full_model, lora_model = load_my_models()

Both are timm `vit_tiny_patch16_224` models with a 10-class head (ImageWoof classes in
sorted wnid order), weights from output/full_model/model.safetensors and
output/lora_model/model.safetensors (LoRA merged into the base weights), in eval mode.
Expected input: timm's eval transform for this model (bicubic resize to 248, centre crop
224, mean = std = 0.5). Produce the files with `make` (or `woof-dist train --mode full`
and `--mode lora`).
"""
import os

import timm
import torch
from safetensors.torch import load_file

_HERE = os.path.dirname(os.path.abspath(__file__))
_MODELS = {
    "full": os.path.join(_HERE, "output", "full_model", "model.safetensors"),
    "lora": os.path.join(_HERE, "output", "lora_model", "model.safetensors"),
}


def _load(kind: str) -> torch.nn.Module:
    path = _MODELS[kind]
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: train the {kind} model first "
            f"(`make` runs both; or `woof-dist train --mode {kind}`)")
    state = load_file(path)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10)
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_my_models():
    """Return (full_model, lora_model): timm ViT-Ti/16 models with 10 classes, in eval mode."""
    return _load("full"), _load("lora")


if __name__ == "__main__":
    full, lora = load_my_models()
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        print("full:", tuple(full(x).shape), "lora:", tuple(lora(x).shape))
