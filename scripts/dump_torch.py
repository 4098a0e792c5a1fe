#!/usr/bin/env python3
"""Dump every layer of a PyTorch model in DLA Lens's activation-dump convention.

Run it on the *reference* side of a port, then hand the .npz to `dla-lens compare --dump`
(or to the extension's Compare Checkpoints).

The convention (see README "Activation dumps"):
  * forward hooks on every module without children, every DLA container (DlaTree, DlaRoot, blocks),
    and every direct child of the model (base_layer, level0..level5, ...);
  * keys are `named_modules()` names; a module that runs k > 1 times gets `name#0`..`name#(k-1)`;
  * each output is cloned inside its hook, so in-place ops later in the forward do not change it;
  * `input` first, then records in hook-firing order, then `logits`; float32, C order.

Examples:
  python3 scripts/dump_torch.py --timm dla60 --weights dla60.pth --size 224 --out ref.npz
  python3 scripts/dump_torch.py --model my_models.py:build --weights w.pth --input x.npz --out ref.npz
"""
import argparse
import collections
import importlib.util
import re
import sys


def load_factory(spec):
    path, _, name = spec.rpartition(':')
    if not path or not name:
        sys.exit(f"--model expects FILE.py:FUNCTION, got '{spec}'")
    mod_spec = importlib.util.spec_from_file_location('dla_lens_user_model', path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return getattr(module, name)


STAGE = re.compile(r'^(base_layer|level\d+)$')


def should_hook(name, module, model, all_modules):
    if name == '':
        return False
    if all_modules or not list(module.children()):
        return True
    if hasattr(model, 'base_layer'):
        # DLA: its containers (DlaTree, DlaRoot, blocks) and the stages, as timm's reference dump.
        return type(module).__name__.startswith('Dla') or bool(STAGE.match(name))
    # Any other model: leaves and the model's direct children.
    return '.' not in name


def dump(model, x, all_modules=False):
    import torch
    records = collections.OrderedDict()
    calls = collections.Counter()
    names = {}
    counts = collections.Counter()

    # First pass: count calls per module, so single-call modules get no suffix.
    def counter(name):
        def hook(_m, _i, _o):
            counts[name] += 1
        return hook

    def recorder(name):
        def hook(_m, _i, out):
            if not torch.is_tensor(out):
                return
            k = calls[name]
            calls[name] += 1
            key = f'{name}#{k}' if counts[name] > 1 else name
            records[key] = out.detach().clone().float().cpu().numpy()
        return hook

    hooked = [(n, m) for n, m in model.named_modules() if should_hook(n, m, model, all_modules)]
    handles = [m.register_forward_hook(counter(n)) for n, m in hooked]
    with torch.no_grad():
        model(x.clone())
    for h in handles:
        h.remove()
    handles = [m.register_forward_hook(recorder(n)) for n, m in hooked]
    with torch.no_grad():
        logits = model(x.clone())
    for h in handles:
        h.remove()
    out = collections.OrderedDict(input=x.float().numpy())
    out.update(records)
    out['logits'] = logits.detach().float().cpu().numpy()
    return out


def main():
    import numpy as np
    import torch
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--timm', help='a timm model name, e.g. dla60 (needs timm installed)')
    src.add_argument('--model', help='FILE.py:FUNCTION returning an nn.Module')
    p.add_argument('--weights', help='a state dict to load (strict) before dumping')
    p.add_argument('--input', help='an .npz whose `input` array (NCHW float32) is fed to the model')
    p.add_argument('--size', type=int, default=224, help='side of the seeded random input (default 224)')
    p.add_argument('--seed', type=int, default=1234, help='seed of the random input (default 1234)')
    p.add_argument('--all-modules', action='store_true', help='record every module, not only leaves and DLA containers')
    p.add_argument('--out', required=True)
    a = p.parse_args()

    if a.timm:
        import timm
        model = timm.create_model(a.timm, pretrained=False)
    else:
        model = load_factory(a.model)()
    if a.weights:
        state = torch.load(a.weights, map_location='cpu')
        for wrapper in ('state_dict', 'model', 'model_ema'):
            if isinstance(state, dict) and wrapper in state and isinstance(state[wrapper], dict):
                state = state[wrapper]
                break
        state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
        model.load_state_dict(state, strict=True)
    model.eval()

    if a.input:
        x = torch.from_numpy(np.load(a.input)['input'].astype(np.float32))
    else:
        x = torch.randn(1, 3, a.size, a.size, generator=torch.Generator().manual_seed(a.seed))

    records = dump(model, x, a.all_modules)
    np.savez(a.out, **records)
    print(f'{a.out}: {len(records)} arrays, input {tuple(x.shape)}, logits {records["logits"].shape}')


if __name__ == '__main__':
    main()
