"""PyTorch + timm + peft counterpart of `woof-dist bench`: the same model, batch and step.

Usage: python scripts/bench_pytorch.py --mode full|lora|eval [--batch-size 32] [--steps 10]
       [--warmup 2] [--threads 2]
Prints one JSON line like woof-dist bench: mode, batch, threads, img_per_s (median over
steps), ms_per_step, peak_rss_mib. Synthetic input, ViT-Ti/16 (random init: speed does not
depend on the weights), AdamW, batch 32; LoRA r 8, alpha 16 on qkv, proj, fc1, fc2 + head.
Never a dependency of woof-dist: scripts/bench-vs-pytorch.sh runs it when torch is there.
"""
import argparse, json, resource, statistics, time

import torch
import timm

p = argparse.ArgumentParser()
p.add_argument("--mode", choices=["full", "lora", "eval"], default="full")
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10)
if a.mode == "lora":
    from peft import LoraConfig, get_peft_model
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["qkv", "proj", "fc1", "fc2"],
                                             lora_dropout=0.0, modules_to_save=["head"]))
x = torch.randn(a.batch_size, 3, 224, 224)
y = torch.randint(0, 10, (a.batch_size,))
params = [q for q in model.parameters() if q.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05)
model.train(a.mode != "eval")

def step():
    if a.mode == "eval":
        with torch.inference_mode():
            model(x)
        return
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

times = []
for i in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    step()
    if i >= a.warmup:
        times.append(time.perf_counter() - t0)
med = statistics.median(times)
print(json.dumps({"mode": a.mode, "batch": a.batch_size, "threads": a.threads, "img_per_s": a.batch_size / med,
                  "ms_per_step": 1000 * med, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "trainable_params": sum(q.numel() for q in params), "torch": torch.__version__}))
