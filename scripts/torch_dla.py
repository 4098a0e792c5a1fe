"""DLA in plain PyTorch with timm's module names (timm is not installable here): the benchmarks' PyTorch
peer and the model of the Python-helper tests.

The modules restate timm's `models/dla.py` forward semantics with timm's attribute names, so
`load_state_dict(torch.load('dla60.pth'))` loads strictly. All 12 timm variants are defined.

  python3 scripts/torch_dla.py bench --weights dla60.pth [--variant dla60] [--size 224] [--runs 20] [--threads 2]
      prints one JSON line: eager and eager-with-hooks milliseconds per run
  python3 scripts/torch_dla.py serve --weights dla60.pth [...]
      one timed run per stdin line ('eager' | 'hooks'), answered with a JSON line (for interleaving)
For activation dumps use scripts/dump_torch.py --model (this module's DLA is importable).
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def conv_bn_relu_level(cin, cout, convs, stride):
    layers = []
    for i in range(convs):
        layers += [nn.Conv2d(cin, cout, 3, stride if i == 0 else 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        cin = cout
    return nn.Sequential(*layers)


def mid_planes(outplanes, base_width, cardinality):
    return int(outplanes * (base_width / 64)) * cardinality // 2


class DlaBasic(nn.Module):
    def __init__(self, cin, cout, stride, **_):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x, shortcut=None):
        shortcut = x if shortcut is None else shortcut
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += shortcut
        return self.relu(out)


class DlaBottleneck(nn.Module):
    def __init__(self, cin, cout, stride, cardinality=1, base_width=64):
        super().__init__()
        mid = mid_planes(cout, base_width, cardinality)
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False, groups=cardinality)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x, shortcut=None):
        shortcut = x if shortcut is None else shortcut
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += shortcut
        return self.relu(out)


class DlaBottle2neck(nn.Module):
    def __init__(self, cin, cout, stride, cardinality=1, base_width=64, scale=4):
        super().__init__()
        self.is_first = stride > 1
        self.scale = scale
        self.width = mid = mid_planes(cout, base_width, cardinality)
        self.conv1 = nn.Conv2d(cin, mid * scale, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid * scale)
        n = max(1, scale - 1)
        self.convs = nn.ModuleList([nn.Conv2d(mid, mid, 3, stride, 1, groups=cardinality, bias=False) for _ in range(n)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(mid) for _ in range(n)])
        if self.is_first:
            self.pool = nn.AvgPool2d(3, stride, 1)
        self.conv3 = nn.Conv2d(mid * scale, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x, shortcut=None):
        shortcut = x if shortcut is None else shortcut
        chunks = torch.split(self.relu(self.bn1(self.conv1(x))), self.width, 1)
        outs = []
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            sp = chunks[i] if i == 0 or self.is_first else sp + chunks[i]
            sp = self.relu(bn(conv(sp)))
            outs.append(sp)
        if self.scale > 1:
            outs.append(self.pool(chunks[-1]) if self.is_first else chunks[-1])
        out = self.bn3(self.conv3(torch.cat(outs, 1)))
        out += shortcut
        return self.relu(out)


class DlaRoot(nn.Module):
    def __init__(self, cin, cout, shortcut):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut

    def forward(self, parts):
        x = self.bn(self.conv(torch.cat(parts, 1)))
        if self.shortcut:
            x += parts[0]
        return self.relu(x)


class DlaTree(nn.Module):
    def __init__(self, levels, block, cin, cout, stride=1, level_root=False, root_dim=0, root_shortcut=False, **bargs):
        super().__init__()
        root_dim = root_dim or 2 * cout
        if level_root:
            root_dim += cin
        self.downsample = nn.MaxPool2d(stride, stride) if stride > 1 else nn.Identity()
        self.project = nn.Identity()
        if levels == 1:
            self.tree1 = block(cin, cout, stride, **bargs)
            self.tree2 = block(cout, cout, 1, **bargs)
            if cin != cout:
                self.project = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.root = DlaRoot(root_dim, cout, root_shortcut)
        else:
            self.tree1 = DlaTree(levels - 1, block, cin, cout, stride, root_shortcut=root_shortcut, **bargs)
            self.tree2 = DlaTree(levels - 1, block, cout, cout, 1, root_dim=root_dim + cout, root_shortcut=root_shortcut, **bargs)
        self.level_root = level_root
        self.levels = levels

    def forward(self, x, shortcut=None, children=None):
        children = [] if children is None else children
        bottom = self.downsample(x)
        shortcut = self.project(bottom)
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, shortcut)
        if self.levels == 1:
            return self.root([self.tree2(x1), x1] + children)
        children.append(x1)
        return self.tree2(x1, children=children)


class GlobalPool(nn.Module):
    """timm's SelectAdaptivePool2d('avg', flatten=False): records `global_pool.pool` and `.flatten`."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Identity()

    def forward(self, x):
        return self.flatten(self.pool(x))


SMALL = (16, 32, 64, 64, 128, 256)
LARGE = (16, 32, 128, 256, 512, 1024)
VARIANTS = {
    'dla34': dict(levels=(1, 1, 1, 2, 2, 1), channels=(16, 32, 64, 128, 256, 512), block=DlaBasic),
    'dla46_c': dict(levels=(1, 1, 1, 2, 2, 1), channels=SMALL, block=DlaBottleneck),
    'dla46x_c': dict(levels=(1, 1, 1, 2, 2, 1), channels=SMALL, block=DlaBottleneck, cardinality=32, base_width=4),
    'dla60x_c': dict(levels=(1, 1, 1, 2, 3, 1), channels=SMALL, block=DlaBottleneck, cardinality=32, base_width=4),
    'dla60': dict(levels=(1, 1, 1, 2, 3, 1), channels=LARGE, block=DlaBottleneck),
    'dla60x': dict(levels=(1, 1, 1, 2, 3, 1), channels=LARGE, block=DlaBottleneck, cardinality=32, base_width=4),
    'dla102': dict(levels=(1, 1, 1, 3, 4, 1), channels=LARGE, block=DlaBottleneck, shortcut_root=True),
    'dla102x': dict(levels=(1, 1, 1, 3, 4, 1), channels=LARGE, block=DlaBottleneck, cardinality=32, base_width=4, shortcut_root=True),
    'dla102x2': dict(levels=(1, 1, 1, 3, 4, 1), channels=LARGE, block=DlaBottleneck, cardinality=64, base_width=4, shortcut_root=True),
    'dla169': dict(levels=(1, 1, 2, 3, 5, 1), channels=LARGE, block=DlaBottleneck, shortcut_root=True),
    'dla60_res2net': dict(levels=(1, 1, 1, 2, 3, 1), channels=LARGE, block=DlaBottle2neck, cardinality=1, base_width=28),
    'dla60_res2next': dict(levels=(1, 1, 1, 2, 3, 1), channels=LARGE, block=DlaBottle2neck, cardinality=8, base_width=4),
}


class DLA(nn.Module):
    def __init__(self, levels, channels, block, cardinality=1, base_width=64, shortcut_root=False, num_classes=1000):
        super().__init__()
        ch = channels
        bargs = dict(cardinality=cardinality, base_width=base_width)
        self.base_layer = nn.Sequential(nn.Conv2d(3, ch[0], 7, 1, 3, bias=False), nn.BatchNorm2d(ch[0]), nn.ReLU(inplace=True))
        self.level0 = conv_bn_relu_level(ch[0], ch[0], levels[0], 1)
        self.level1 = conv_bn_relu_level(ch[0], ch[1], levels[1], 2)
        for i in range(2, 6):
            setattr(self, f'level{i}', DlaTree(levels[i], block, ch[i - 1], ch[i], 2, level_root=i > 2, root_shortcut=shortcut_root, **bargs))
        self.global_pool = GlobalPool()
        self.head_drop = nn.Dropout(0.0)
        self.fc = nn.Conv2d(ch[5], num_classes, 1, bias=True)
        self.flatten = nn.Flatten(1)

    def forward(self, x):
        for name in ('base_layer', 'level0', 'level1', 'level2', 'level3', 'level4', 'level5'):
            x = getattr(self, name)(x)
        return self.flatten(self.fc(self.head_drop(self.global_pool(x))))


def load_model(variant, weights):
    model = DLA(**VARIANTS[variant]).eval()
    if weights.endswith('.npz'):
        z = np.load(weights)
        state = {k: torch.from_numpy(z[k]) for k in z.files}
        # npz holds no num_batches_tracked (it does not matter in eval mode)
        for k, v in model.state_dict().items():
            state.setdefault(k, v)
    else:
        state = torch.load(weights, map_location='cpu')
    model.load_state_dict(state, strict=True)
    return model


def hook_all(model, records):
    """A forward hook on every module, cloning its output as the reference dump did."""
    calls = {}

    def make(name):
        def hook(_module, _inputs, output):
            k = calls.get(name, 0)
            calls[name] = k + 1
            records.append((name, k, output.clone()))
        return hook

    return [m.register_forward_hook(make(n)) for n, m in model.named_modules() if n], calls


def timed(model, x, runs, warmup):
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def bench(args):
    torch.set_num_threads(args.threads)
    model = load_model(args.variant, args.weights)
    x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1234))
    eager = timed(model, x, args.runs, args.warmup)
    records = []
    handles, _ = hook_all(model, records)

    class Cleared(nn.Module):  # drop last run's clones before each run, as a dump loop would
        def forward(self, inp):
            records.clear()
            return model(inp)

    hooks = timed(Cleared(), x, args.runs, args.warmup)
    for h in handles:
        h.remove()
    print(json.dumps({
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'records': len(records),
        'eager_ms': eager, 'hooks_ms': hooks,
        'eager_median_ms': statistics.median(eager), 'hooks_median_ms': statistics.median(hooks),
    }))


def serve(args):
    """One timed forward per stdin line ('eager' or 'hooks'), answered with its milliseconds, so the
    caller can interleave PyTorch with its own runs and a busy machine slows both alike."""
    torch.set_num_threads(args.threads)
    model = load_model(args.variant, args.weights)
    x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1234))
    records = []
    handles = []
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        mode = line.strip()
        if mode not in ('eager', 'hooks'):
            break
        if (mode == 'hooks') != bool(handles):
            for h in handles:
                h.remove()
            handles = hook_all(model, records)[0] if mode == 'hooks' else []
        records.clear()
        with torch.no_grad():
            t0 = time.perf_counter()
            model(x)
            ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({'ms': ms, 'records': len(records)}), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('bench')
    b.add_argument('--weights', required=True)
    b.add_argument('--variant', default='dla60')
    b.add_argument('--size', type=int, default=224)
    b.add_argument('--runs', type=int, default=20)
    b.add_argument('--warmup', type=int, default=3)
    b.add_argument('--threads', type=int, default=2)
    v = sub.add_parser('serve')
    v.add_argument('--weights', required=True)
    v.add_argument('--variant', default='dla60')
    v.add_argument('--size', type=int, default=224)
    v.add_argument('--threads', type=int, default=2)
    args = p.parse_args()
    if args.variant not in VARIANTS:
        sys.exit(f"Unknown variant '{args.variant}'; one of {', '.join(VARIANTS)}.")
    {'bench': bench, 'serve': serve}[args.cmd](args)


if __name__ == '__main__':
    main()
