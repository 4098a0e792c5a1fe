/**
 * Presets from configuration: the YAML reader against PyYAML's SafeLoader (live, the loader
 * PaddleClas uses), PaddleClas op lists read with PaddleClas's meaning (and refused where we do not
 * reproduce it, with a sentence naming the op or parameter), timm pretrained_cfg records, and the
 * --preset-config file dispatch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FormatError, UsageError } from '../../../src/model/errors';
import { evalArithmetic, paddleClasPreset } from '../../../src/model/run/paddleClasConfig';
import { loadPreset } from '../../../src/model/run/presetConfig';
import { presetByName, presetFromTimmPretrainedCfg, TIMM_DLA_PRETRAINED_CFG } from '../../../src/model/run/presets';
import { parseYamlSubset, type YamlValue } from '../../../src/model/run/yamlSubset';
import { runPython, skipWithoutImageLibraries } from '../../helpers/python';
import { scratchDir } from './libraryReference';

// --- the YAML reader ----------------------------------------------------------------------------

const YAML_TEXTS: Record<string, string> = {
  scalars: `bools: [yes, No, on, OFF, true, False, TRUE]
nulls: [~, null, Null, NULL, '']
empty:
ints: [0, 7, -12, +12, 0755, 0x1f, 0b101, 1_000, 12:30, 08]
floats: [1.0, 3., .5, -1.5e-3, 1.e+2, 12:30.5, 1e-3, 1E5, -.inf, .Inf]
strings: ['1.0/255.0', "tab\\tand \\u00e9", 'it''s', plain text, "quoted # not a comment"]
hash: plain text with #no comment
commented: value # a comment
colon: a:b
dash: -5x
date_like: '2024-01-01'
`,
  blocks: `top:
  nested:
    deeper: 1
  list:
  - a
  - b
  items:
    - name: first
      size: 224
    - name: second
      params:
        - 1
        - 2
    - - x
      - y
    -
    - plain
flow: {a: 1, b: [2, {c: 3}], 'd e': "f"}
multi: [1, 2,
        3, 4]
dup: 1
dup: 2
`,
  anchors: `base: &width 224
shape: [*width, 256]
cfg: &cfg
  size: *width
  name: x
again: *cfg
seq:
  - &item {k: v}
  - *item
`,
  paddleclas: `DataLoader:
  Eval:
    dataset: 
      name: ImageNetDataset
      transform_ops:
        - DecodeImage:
            to_rgb: True
            channel_first: False
        - ResizeImage:
            resize_short: 256
        - CropImage:
            size: 224
        - NormalizeImage:
            scale: 1.0/255.0
            mean: [0.485, 0.456, 0.406]
            std: [0.229, 0.224, 0.225]
            order: ''
Infer:
  transforms:
    - ToCHWImage:
`,
};

/** Non-finite floats have no JSON form; both sides spell them the same way. */
const PY_LOAD = `
import json, math, sys, yaml
def norm(v):
    if isinstance(v, float) and not math.isfinite(v): return '__float:' + ('nan' if v != v else ('inf' if v > 0 else '-inf'))
    if isinstance(v, dict): return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, list): return [norm(x) for x in v]
    return v
print(json.dumps({name: norm(yaml.safe_load(open(path))) for name, path in json.load(open(sys.argv[1])).items()}))
`;

function normalizeJs(v: YamlValue): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return `__float:${Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf'}`;
  if (Array.isArray(v)) return v.map(normalizeJs);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeJs(x)]));
  return v;
}

test('the YAML reader gives what PyYAML SafeLoader gives (YAML 1.1 scalars, blocks, flow, anchors)', { skip: skipWithoutImageLibraries() }, () => {
  const dir = scratchDir('dla-lens-yaml-');
  const files: Record<string, string> = {};
  for (const [name, text] of Object.entries(YAML_TEXTS)) fs.writeFileSync((files[name] = path.join(dir, `${name}.yaml`)), text);
  fs.writeFileSync(path.join(dir, 'files.json'), JSON.stringify(files));
  const r = runPython(['-c', PY_LOAD, path.join(dir, 'files.json')]);
  assert.equal(r.status, 0, r.stderr);
  const expected = JSON.parse(r.stdout);
  for (const [name, text] of Object.entries(YAML_TEXTS)) {
    assert.deepEqual(normalizeJs(parseYamlSubset(text, `${name}.yaml`)), expected[name], name);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('YAML features the reader does not implement are refused with the file and line', () => {
  const cases: [string, RegExp][] = [
    ['a: !!str 5\n', /^t\.yaml: line 1: tags \(!\)/],
    ['a: |\n  text\n', /^t\.yaml: line 1: block scalars \(\|\)/],
    ['a: 1\n---\nb: 2\n', /^t\.yaml: line 2: several YAML documents/],
    ['a:\n\tb: 1\n', /^t\.yaml: line 2: a tab in the indentation/],
    ["a: 'open\n", /^t\.yaml: line 1: a single-quoted string is not closed/],
    ['a: [1, 2\nb: 3\n', /^t\.yaml: line 1: the flow collection '\[1, 2' is not closed before line 2/],
    ['a: [1, plain # a comment, 2]\nb: 3\n', /^t\.yaml: line 1: the flow collection '\[1, plain' is not closed before line 2/],
    ['a: [1, 2] x\n', /^t\.yaml: line 1: unexpected 'x' after the value/],
    ['a: {b 1}\n', /^t\.yaml: line 1: expected ':' after a key in a flow mapping/],
    ['base: &b {x: 1}\nm:\n  <<: *b\n', /^t\.yaml: line 3: merge keys/],
    ['a: *nowhere\n', /^t\.yaml: line 1: alias '\*nowhere' refers to no anchor/],
    ['when: 2024-01-01\n', /^t\.yaml: line 1: '2024-01-01' would be read as a date/],
    ['a: b: c\n', /^t\.yaml: line 1: .*mapping values are not allowed here/],
    ['a: 1\n  b: 2\n', /^t\.yaml: line 2: the value of line 1 continues/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseYamlSubset(text, 't.yaml'), (e: Error) => e instanceof FormatError && pattern.test(e.message), JSON.stringify(text));
  }
});

// --- PaddleClas op lists -----------------------------------------------------------------------------

const DLA60_EVAL = parseYamlSubset(YAML_TEXTS.paddleclas, 'DLA60.yaml');

test("DLA60.yaml's eval ops are exactly the built-in paddleclas preset", () => {
  const p = paddleClasPreset(DLA60_EVAL, 'DLA60.yaml');
  const builtIn = presetByName('paddleclas');
  for (const key of ['decoder', 'channels', 'resize', 'crop'] as const) assert.deepEqual(p[key], builtIn[key], key);
  assert.deepEqual({ ...p.normalize, mean: [...p.normalize.mean], std: [...p.normalize.std] },
    { ...builtIn.normalize, mean: [...builtIn.normalize.mean], std: [...builtIn.normalize.std] });
  assert.match(p.description, /DataLoader\.Eval\.dataset\.transform_ops of DLA60\.yaml: DecodeImage\(to_rgb=true, channel_first=false\), ResizeImage\(resize_short=256\)/);
});

const D = { DecodeImage: { to_rgb: true } };
const R = { ResizeImage: { resize_short: 256 } };
const C = { CropImage: { size: 224 } };
const N = { NormalizeImage: { order: '' } };

test('PaddleClas semantics: defaults, backends, to_np/to_rgb, sizes as [w, h], Infer transforms, string scales', () => {
  // NormalizeImage defaults: scale 1/255, ImageNet mean/std; ResizeImage default interpolation: cv2 INTER_LINEAR.
  const p = paddleClasPreset([{ DecodeImage: null }, R, C, N], 'ops.yaml');
  assert.deepEqual([p.decoder, p.channels, p.resize, p.crop, p.normalize.arithmetic === 'scale' && p.normalize.scale], ['opencv', 'rgb', { library: 'opencv', filter: 'linear', size: { rule: 'shorter-side-round', size: 256 } }, { rule: 'center-floor', height: 224, width: 224 }, 1 / 255]);
  // Pillow decoding with to_np False stays RGB (to_rgb is skipped on a PIL image); cv2 with to_np False stays BGR.
  const pil = paddleClasPreset([{ DecodeImage: { to_np: false, backend: 'PIL' } }, { ResizeImage: { resize_short: 248, interpolation: 'bicubic', backend: 'pil' } }, C, N], 'ops.yaml');
  assert.deepEqual([pil.decoder, pil.channels, pil.resize?.library, pil.resize?.filter], ['pillow', 'rgb', 'pillow', 'bicubic']);
  assert.equal(paddleClasPreset([{ DecodeImage: { to_np: false } }, R, C, N], 'ops.yaml').channels, 'bgr');
  assert.equal(paddleClasPreset([{ DecodeImage: { to_rgb: false } }, R, C, N], 'ops.yaml').channels, 'bgr');
  // An unknown resize backend: UnifiedResize warns and uses plain cv2.resize (INTER_LINEAR), whatever the interpolation.
  assert.deepEqual(paddleClasPreset([D, { ResizeImage: { resize_short: 256, backend: 'skimage', interpolation: 'bicubic' } }, C, N], 'o').resize?.filter, 'linear');
  // cv2 flags and Pillow constants given as integers.
  assert.equal(paddleClasPreset([D, { ResizeImage: { resize_short: 256, interpolation: 2 } }, C, N], 'o').resize?.filter, 'cubic');
  assert.equal(paddleClasPreset([D, { ResizeImage: { resize_short: 256, interpolation: 1, backend: 'pil' } }, C, N], 'o').resize?.filter, 'lanczos');
  // size is [width, height] for both ops, as PaddleClas unpacks it.
  const sized = paddleClasPreset([D, { ResizeImage: { size: [300, 260] } }, { CropImage: { size: [256, 224] } }, N], 'o');
  assert.deepEqual([sized.resize?.size, sized.crop], [{ rule: 'exact', width: 300, height: 260 }, { rule: 'center-floor', width: 256, height: 224 }]);
  // Infer.transforms when there is no Eval section; they must end in CHW themselves.
  const infer = paddleClasPreset({ Infer: { transforms: [D, R, C, N, { ToCHWImage: null }] } }, 'infer.yaml');
  assert.match(infer.description, /Infer\.transforms/);
  assert.deepEqual(paddleClasPreset([D, R, C, { ToCHWImage: null }, { NormalizeImage: { order: 'chw' } }], 'o').normalize.arithmetic, 'scale');
  for (const [text, value] of [['1.0/255.0', 1 / 255], ['1/255', 1 / 255], ['(1/255)', 1 / 255], ['2*0.5/255', 1 / 255], ['-1+2', 1], ['1e-3', 0.001]] as const) {
    assert.equal(evalArithmetic(text), value, text);
  }
  for (const text of ["__import__('os')", '1/0', '2**8', '1 2', '']) assert.equal(evalArithmetic(text), undefined, text);
});

test('PaddleClas ops and parameters not reproduced are refused, each with a sentence naming it', () => {
  const cases: [YamlValue, RegExp][] = [
    [[D, R, { CropImageAtRatio: { size: 384, pad: 32 } }, N], /uses 'CropImageAtRatio', which dla-lens does not implement; it implements DecodeImage, ResizeImage, CropImage, NormalizeImage, ToCHWImage/],
    [[D, { RandCropImage: { size: 224 } }, { RandFlipImage: null }, N], /uses 'RandCropImage', 'RandFlipImage'/],
    [[D, { ResizeImage: { resize_short: 256, interpolation: 'random' } }, C, N], /\[1\] \(ResizeImage\): interpolation "random" with backend cv2 is not reproduced/],
    [[D, { ResizeImage: { resize_short: 256, interpolation: 'area' } }, C, N], /interpolation "area" with backend cv2/],
    [[D, { ResizeImage: { resize_short: 256, interpolation: 'random', backend: 'pil' } }, C, N], /'random' is not deterministic/],
    [[D, R, C, { NormalizeImage: { channel_num: 4, order: '' } }], /channel_num 4 pads a 4th channel/],
    [[D, R, C, { NormalizeImage: { output_fp16: true, order: '' } }], /output_fp16: True gives a float16 tensor/],
    [[D, R, C, { NormalizeImage: { scale: '1.0/255.0' } }], /order 'chw' \(the default\) shapes mean\/std \(3, 1, 1\), which numpy cannot broadcast/],
    [[D, R, C, { ToCHWImage: null }, N], /order "" shapes mean\/std \(1, 1, 3\)/],
    [[D, C, R, N], /runs DecodeImage, CropImage, ResizeImage, NormalizeImage; dla-lens runs DecodeImage, ResizeImage, CropImage/],
    [[D, R, C], /has no NormalizeImage: the model would be fed uint8 pixels/],
    [[R, D, C, N], /must start with DecodeImage/],
    [[D, R, R, C, N], /ResizeImage appears twice/],
    [[D, { ResizeImage: { resize_short: 256, max_size: 512 } }, C, N], /unknown parameter 'max_size'; ResizeImage takes size, resize_short, interpolation, backend, return_numpy/],
    [[D, { ResizeImage: { interpolation: 'bilinear' } }, C, N], /needs resize_short \(> 0\) or size/],
    [[D, { ResizeImage: { resize_short: 256, return_numpy: false, backend: 'pil' } }, C, N], /return_numpy: False hands a PIL image/],
    [[{ DecodeImage: { to_np: false, backend: 'pil' } }, R, C, N], /cv2\.resize gets the PIL image/],
    [[{ DecodeImage: { channel_first: true } }, R, C, N], /channel_first: True/],
    [[D, R, { CropImage: { size: [224] } }, N], /size must be a positive integer or \[width, height\], found \[224\]/],
    [[D, R, C, { NormalizeImage: { scale: 'open(x)', order: '' } }], /scale "open\(x\)" is not plain arithmetic/],
    [[D, R, C, { NormalizeImage: { mean: [0.5, 0.5], order: '' } }], /mean must be 3 numbers, found \[0\.5,0\.5\]/],
    [[D, { ResizeImage: 256 }, C, N], /\[1\] \(ResizeImage\): its parameters must be a mapping, found 256/],
    [[D, { ResizeImage: { resize_short: 256 }, CropImage: { size: 224 } }, N], /\[1\] must be a mapping with one key/],
    [{ DataLoader: { Eval: { dataset: { transform_ops: [D, R, C, N, { ToCHWImage: null }] } } } }, /the Eval dataset transposes HWC -> CHW after its ops, so a ToCHWImage here transposes twice/],
    [{ Infer: { transforms: [D, R, C, N] } }, /Infer\.transforms ends with an HxWx3 array \(no ToCHWImage\)/],
    [{ Global: { epochs: 1 } }, /No PaddleClas eval transforms found: expected a list at DataLoader\.Eval\.dataset\.transform_ops or Infer\.transforms/],
  ];
  for (const [doc, pattern] of cases) {
    assert.throws(() => paddleClasPreset(doc, 'cfg.yaml'), (e: Error) => e instanceof FormatError && e.message.startsWith('cfg.yaml: ') && pattern.test(e.message), `${JSON.stringify(doc)} -> ${pattern}`);
  }
});

test('a YAML of aliases to aliases (a billion laughs) is refused with a short message, not printed whole', { timeout: 20_000 }, () => {
  // Each level is ten aliases of the one before: 1 KB of YAML, 10^10 values written out.
  const levels = Array.from({ length: 10 }, (_, i) => i === 0 ? 'l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]' : `l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
  const ops = ['DecodeImage: {to_rgb: *l9}', 'ResizeImage: {resize_short: 256}', 'CropImage: {size: 224}', "NormalizeImage: {scale: 0.00392156862745098, order: ''}", 'ToCHWImage:'];
  const text = `${levels.join('\n')}\nInfer:\n  transforms:\n${ops.map((o) => `    - ${o}\n`).join('')}`;
  assert.ok(text.length < 1500);
  assert.throws(() => paddleClasPreset(parseYamlSubset(text, 'bomb.yaml'), 'bomb.yaml'),
    (e: Error) => e instanceof FormatError && e.message.startsWith('bomb.yaml: ') && /to_rgb/.test(e.message) && e.message.length < 400);
});

// --- timm pretrained_cfg -------------------------------------------------------------------------

test("timm pretrained_cfg: DLA's cfg is the built-in timm preset; timm's eval rules and defaults", () => {
  const dla = presetFromTimmPretrainedCfg(TIMM_DLA_PRETRAINED_CFG);
  const builtIn = presetByName('timm');
  for (const key of ['decoder', 'channels', 'resize', 'crop'] as const) assert.deepEqual(dla[key], builtIn[key], key);
  // Missing entries take resolve_data_config's defaults: bicubic, crop_pct 0.875, 224, ImageNet mean/std.
  assert.deepEqual(presetFromTimmPretrainedCfg({}).resize, { library: 'pillow', filter: 'bicubic', size: { rule: 'shorter-side', size: 256 } });
  // scale_size = floor(size / crop_pct): 224 / 0.95 = 235.79 -> 235.
  assert.deepEqual(presetFromTimmPretrainedCfg({ crop_pct: 0.95 }).resize?.size, { rule: 'shorter-side', size: 235 });
  assert.deepEqual(presetFromTimmPretrainedCfg({ crop_mode: 'squash', crop_pct: 0.9 }).resize?.size, { rule: 'exact', height: 248, width: 248 });
  const border = presetFromTimmPretrainedCfg({ crop_mode: 'border', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.deepEqual([border.resize?.size, border.crop], [{ rule: 'keep-ratio', height: 256, width: 256, longest: 1 }, { rule: 'center-round', height: 224, width: 224, fill: [128, 128, 128] }]);
  // A non-square center crop resizes with ResizeKeepRatio, to which timm passes no interpolation: bilinear.
  const wide = presetFromTimmPretrainedCfg({ input_size: [3, 192, 256], interpolation: 'bicubic' });
  assert.deepEqual(wide.resize, { library: 'pillow', filter: 'bilinear', size: { rule: 'keep-ratio', height: 219, width: 292, longest: 0 } });
  assert.match(presetFromTimmPretrainedCfg({ crop_mode: 'centre' }).description, /crop_mode 'centre' \(timm: center\)/);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ interpolation: 'random' }, /'interpolation' "random" is not one timm's eval transform accepts/],
    [{ input_size: [224, 224] }, /'input_size' must be \[channels, height, width\]/],
    [{ input_size: [1, 224, 224] }, /1 channels; only 3-channel/],
    [{ mean: [0.5] }, /'mean' must be 3 numbers/],
    [{ std: [0.2, 0, 0.2] }, /'std' must not contain 0/],
    [{ crop_pct: -1 }, /'crop_pct' must be a positive number/],
  ];
  for (const [cfg, pattern] of bad) {
    assert.throws(() => presetFromTimmPretrainedCfg(cfg, 'timm', 'hub/x/config.json: pretrained_cfg'), (e: Error) => e instanceof UsageError && e.message.startsWith('hub/x/config.json: pretrained_cfg: ') && pattern.test(e.message), pattern.source);
  }
});

test('--preset-config: YAML configures paddleclas, JSON (a hub config.json or a bare pretrained_cfg) configures timm', () => {
  const dir = scratchDir('dla-lens-preset-config-');
  const yaml = path.join(dir, 'DLA60.yaml');
  fs.writeFileSync(yaml, YAML_TEXTS.paddleclas);
  const hub = path.join(dir, 'config.json');
  fs.writeFileSync(hub, JSON.stringify({ architecture: 'dla34', pretrained_cfg: { interpolation: 'bicubic', crop_pct: 0.9 } }));
  const bare = path.join(dir, 'cfg.json');
  fs.writeFileSync(bare, JSON.stringify({ input_size: [3, 256, 256], crop_pct: 1 }));
  assert.equal(loadPreset(undefined, yaml).decoder, 'opencv');
  assert.equal(loadPreset('paddleclas', yaml).resize?.library, 'opencv');
  assert.deepEqual(loadPreset(undefined, hub).resize?.size, { rule: 'shorter-side', size: 248 });
  assert.deepEqual(loadPreset('timm', bare).crop, { rule: 'center-round', height: 256, width: 256, fill: [0, 0, 0] });
  assert.equal(loadPreset('paddle', undefined).name, 'paddle');
  assert.throws(() => loadPreset('paddle', yaml), /Preset 'paddle' takes no config file; a config file configures timm \(pretrained_cfg JSON\) or paddleclas \(PaddleClas YAML\)/);
  assert.throws(() => loadPreset(undefined, path.join(dir, 'cfg.txt')), /cfg\.txt: cannot tell which preset it configures from its extension '\.txt'/);
  const broken = path.join(dir, 'broken.json');
  fs.writeFileSync(broken, '{"pretrained_cfg": ');
  assert.throws(() => loadPreset(undefined, broken), (e: Error) => e instanceof FormatError && /broken\.json: Not valid JSON/.test(e.message));
  assert.throws(() => loadPreset('timm', yaml), (e: Error) => e instanceof FormatError && /DLA60\.yaml: Not valid JSON/.test(e.message));
  assert.throws(() => loadPreset('tf', undefined), /Unknown preprocessing preset 'tf'\. Valid presets: timm, paddle, paddleclas\./);
  assert.throws(() => loadPreset(undefined, path.join(dir, 'missing.yaml')), /ENOENT/);
  fs.rmSync(dir, { recursive: true, force: true });
});
