"""The batch comparison done the usual PyTorch way, as the peer of `dla-lens compare --input LIST`:
torch.load both checkpoints, decode and transform the same images with PIL and torchvision (timm's
DLA eval transform: Resize(256, bilinear), CenterCrop(224), ImageNet mean/std), and run both models
a chunk of images at a time with a forward hook on every module (scripts/torch_dla.py is timm's DLA
with timm's names): the reference's hooks clone each output (timm's ReLUs are in place), the
candidate's take, per image, max |a - b| and mean |a - b| of each record against the reference's,
in torch, as soon as the record is produced. Prints the wall time (imports included) and peak RSS
as JSON.

    python3 bench/compare_batch_torch_peer.py REF.pth CAND.pth IMAGES.txt [--chunk 4]
"""
import time

t0 = time.perf_counter()
import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
import torchvision.transforms as T  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
import torch_dla  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('reference')
p.add_argument('candidate')
p.add_argument('images', help='a list file: one image path per line, relative to the list')
p.add_argument('--chunk', type=int, default=4)
args = p.parse_args()
torch.set_num_threads(os.cpu_count() or 2)

base = os.path.dirname(os.path.abspath(args.images))
with open(args.images) as f:
    files = [os.path.join(base, line.strip()) for line in f if line.strip() and not line.startswith('#')]
transform = T.Compose([
    T.Resize(256, interpolation=T.InterpolationMode.BILINEAR), T.CenterCrop(224), T.ToTensor(),
    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])
ref = torch_dla.load_model('dla60', args.reference)
cand = torch_dla.load_model('dla60', args.candidate)

held = {}
results = {}
calls = {'ref': {}, 'cand': {}}


def key(side, name):
    k = calls[side].get(name, 0)
    calls[side][name] = k + 1
    return f'{name}#{k}'


def ref_hook(name):
    def hook(_module, _inputs, output):
        held[key('ref', name)] = output.clone()
    return hook


def cand_hook(name):
    def hook(_module, _inputs, output):
        k = key('cand', name)
        d = (output - held.pop(k)).abs().flatten(1)
        results.setdefault(k, []).append((d.max(1).values, d.mean(1)))
    return hook


for n, m in ref.named_modules():
    if n:
        m.register_forward_hook(ref_hook(n))
for n, m in cand.named_modules():
    if n:
        m.register_forward_hook(cand_hook(n))

with torch.no_grad():
    for i in range(0, len(files), args.chunk):
        x = torch.stack([transform(Image.open(f).convert('RGB')) for f in files[i:i + args.chunk]])
        calls['ref'].clear()
        calls['cand'].clear()
        ref(x)
        cand(x)

worst = max(float(torch.cat([m for m, _ in v]).max()) for v in results.values())
print(json.dumps({
    'ms': (time.perf_counter() - t0) * 1000, 'images': len(files), 'records': len(results), 'maxAbs': worst,
    'peakMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
