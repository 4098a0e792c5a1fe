"""The PyTorch peer of bench/eval.ts: the same evaluation the way a PyTorch user runs it.

torchvision's ImageFolder over the same folder, timm's DLA eval transform (Resize(256, bilinear),
CenterCrop(224), ToTensor, Normalize(ImageNet)), a DataLoader with worker processes, timm's DLA in
plain torch (scripts/torch_dla.py) in eval mode under no_grad, top-1/top-5 counted. Prints one JSON
line: wall ms of the whole run (imports included, as for a fresh `dla-lens eval`), top-1 count, and
the images per second of the loop.

  python3 bench/eval_torch_peer.py FOLDER WEIGHTS [--variant dla60] [--batch 16] [--workers 2] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

T0 = time.perf_counter()
import torch  # noqa: E402
import torchvision  # noqa: E402
from torchvision import transforms  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
import torch_dla  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('folder')
    p.add_argument('weights')
    p.add_argument('--variant', default='dla60')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--workers', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    tf = transforms.Compose([
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    data = torchvision.datasets.ImageFolder(a.folder, transform=tf)
    # ImageFolder indexes the folders present 0..K-1; the model's classes are ImageNet's. Synset
    # folders map to the standard index (as dla-lens eval does), which for the full 1000-class val
    # set is the same as ImageFolder's own.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'imagenet_classes.json')) as f:
        wnid_index = {c['wnid']: c['index'] for c in json.load(f)}
    to_imagenet = torch.tensor([wnid_index[c] for c in data.classes])
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, num_workers=a.workers, shuffle=False)
    model = torch_dla.load_model(a.variant, a.weights).eval()
    correct1 = correct5 = n = 0
    t_loop = time.perf_counter()
    with torch.no_grad():
        for x, y in loader:
            y = to_imagenet[y]
            top5 = model(x).topk(5, dim=1).indices
            correct1 += (top5[:, 0] == y).sum().item()
            correct5 += (top5 == y[:, None]).any(dim=1).sum().item()
            n += len(y)
    t1 = time.perf_counter()
    print(json.dumps({'ms': (t1 - T0) * 1000, 'loopMs': (t1 - t_loop) * 1000, 'count': n, 'correct1': correct1,
                      'correct5': correct5, 'imagesPerSecond': n / (t1 - t_loop)}))


if __name__ == '__main__':
    main()
