import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { UsageError } from '../../../src/model/errors';
import { byCodePoint, folderDataset, listDataset } from '../../../src/model/eval/dataset';
import { IMAGENET_CLASSES } from '../../../src/model/run/labels';
import { runPython, skipWithoutTorch } from '../../helpers/python';

/**
 * The two layouts of labelled images. An ImageFolder tree is read in exactly the order, and with
 * exactly the class indices, of the real torchvision.datasets.ImageFolder (Debian's torchvision, on
 * a tree made here with awkward names); ImageNet synset folders take the standard ImageNet index;
 * a list file is read line by line, its errors naming the line.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-dataset-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function touch(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, '');
}

describe('labelled image sets', () => {
  test('an ImageFolder tree: the order and indices of torchvision\'s ImageFolder', { skip: skipWithoutTorch() }, () => {
    const root = path.join(tmp, 'folder');
    // Class names that sort differently by UTF-16 and by code point, digits, case; nested folders
    // whose walk order is not a plain recursive sort ('x-y' before 'x/z'); extensions in any case;
    // files ImageFolder does not count; a symlinked folder.
    for (const f of [
      'b/2.jpg', 'b/10.JPG', 'b/x/z/deep.png', 'b/x-y/mid.webp', 'b/x/top.jpeg', 'b/notes.txt',
      'a/img.PNG', 'a/.hidden.jpg', 'Z/one.bmp', '10/a.tif', '9/b.ppm', 'é/c.jpg', '\u{1F600}/d.jpg', '\uFFFD/e.jpg',
    ]) touch(path.join(root, f));
    fs.mkdirSync(path.join(tmp, 'elsewhere'));
    touch(path.join(tmp, 'elsewhere', 'linked.jpg'));
    fs.symlinkSync(path.join(tmp, 'elsewhere'), path.join(root, 'a', 'link'));
    const r = runPython(['-c', [
      'import json, sys, torchvision',
      'd = torchvision.datasets.ImageFolder(sys.argv[1])',
      'print(json.dumps({"classes": d.classes, "samples": d.samples}))',
    ].join('\n'), root]);
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as { classes: string[]; samples: [string, number][] };
    const ours = folderDataset(root);
    assert.equal(ours.labelling, 'sorted-folders');
    assert.deepEqual(ours.images.map((im) => [im.file, im.label]), expected.samples);
    assert.deepEqual([...ours.classNames!.values()], expected.classes);
  });

  test('ImageNet synset folders keep the standard ImageNet index, whatever subset is there', () => {
    const root = path.join(tmp, 'synsets');
    const picked = [IMAGENET_CLASSES[0], IMAGENET_CLASSES[407], IMAGENET_CLASSES[999]];
    for (const c of picked) touch(path.join(root, c.wnid, 'x.JPEG'));
    const d = folderDataset(root);
    assert.equal(d.labelling, 'imagenet-synsets');
    assert.deepEqual(d.images.map((im) => im.label), [0, 407, 999]);
    // One folder that is no synset: every folder is indexed by sorted order instead.
    touch(path.join(root, 'n99999999', 'y.jpg'));
    assert.deepEqual(folderDataset(root).images.map((im) => im.label), [0, 1, 2, 3]);
  });

  test('a list file: path and label per line (paths with spaces, comments); bad lines are named', () => {
    const root = path.join(tmp, 'listroot');
    fs.mkdirSync(root, { recursive: true });
    const list = path.join(tmp, 'val.txt');
    fs.writeFileSync(list, '# ImageNet val\nILSVRC2012_val_00000001.JPEG 65\n\nsub dir/with space.jpg   970\r\n');
    const d = listDataset(list, root);
    assert.deepEqual(d.images.map((im) => [im.name, im.label, im.file]), [
      ['ILSVRC2012_val_00000001.JPEG', 65, path.join(root, 'ILSVRC2012_val_00000001.JPEG')],
      ['sub dir/with space.jpg', 970, path.join(root, 'sub dir/with space.jpg')],
    ]);
    fs.writeFileSync(list, 'a.jpg 1\nb.jpg cat\n');
    assert.throws(() => listDataset(list, root), (e: Error) => e instanceof UsageError && /val\.txt:2: expected 'relative\/path label'.*'b\.jpg cat'/.test(e.message));
    fs.writeFileSync(list, 'a.jpg -3\n');
    assert.throws(() => listDataset(list, root), /val\.txt:1: the label -3 is negative/);
    assert.throws(() => listDataset(list, path.join(tmp, 'nope')), /--root .*nope: not a folder/);
  });

  test("sorting is by code point, as Python's sorted() on str", () => {
    assert.deepEqual(['\uFFFD', '\u{1F600}', 'a'].sort(byCodePoint), ['a', '\uFFFD', '\u{1F600}']);
    assert.deepEqual(['\uFFFD', '\u{1F600}'].sort(), ['\u{1F600}', '\uFFFD'], 'JS\'s default sort differs: UTF-16 units');
  });
});
