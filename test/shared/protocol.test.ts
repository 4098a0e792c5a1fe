import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nonFiniteReplacer, nonFiniteReviver } from '../../src/shared/nonFinite';
import { MAX_HISTOGRAM_BINS, MessageType, ProtocolError, messageIdOf, parseFromWebview, parseToWebview } from '../../src/shared/protocol';
import { comparisonData } from '../webview/comparison/fixture';

/**
 * The protocol's validators: what a real message looks like passes untouched; a malformed one is
 * refused with the message type and the field path named, so a protocol bug reads as one line.
 */

const clone = <T>(x: T): T => structuredClone(x);

describe('protocol: messages to the webview', () => {
  const data = comparisonData();

  test('a real comparison passes, as reply and as push, NaN metrics included', () => {
    const withNaN = clone(data) as unknown as { layers: { diff: { scaledMaxAbs: number } }[] };
    withNaN.layers[5].diff.scaledMaxAbs = NaN;
    const msg = { type: MessageType.ComparisonData, inReplyTo: 1, data: withNaN };
    assert.equal(parseToWebview(msg), msg);
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.ComparisonChanged, data }));
  });

  test('a wrong field is named by its path', () => {
    const bad = clone(data) as unknown as { layers: { diff: { cosine: unknown } }[] };
    bad.layers[3].diff.cosine = '1';
    assert.throws(() => parseToWebview({ type: MessageType.ComparisonData, inReplyTo: 1, data: bad }),
      (e: Error) => e instanceof ProtocolError && /comparisonData\.data\.layers\[3\]\.diff\.cosine: expected a number, got string/.test(e.message));
    assert.throws(() => parseToWebview({ type: MessageType.ComparisonData, data }), /comparisonData\.inReplyTo: expected a number, got undefined/);
    const noTree = clone(data) as unknown as { tree: unknown };
    noTree.tree = null;
    assert.throws(() => parseToWebview({ type: MessageType.ComparisonChanged, data: noTree }), /comparisonChanged\.data\.tree: expected an object, got null/);
  });

  test('a module tree deeper than 64 levels is refused, not recursed into', () => {
    type M = { id: string; name: string; kind: string; role: string; calls: number; children: M[] };
    const deep: M = { id: 'x', name: 'x', kind: 'k', role: 'r', calls: 1, children: [] };
    let n = deep;
    for (let i = 0; i < 70; i++) {
      const c: M = { ...deep, children: [] };
      n.children.push(c);
      n = c;
    }
    assert.throws(() => parseToWebview({ type: MessageType.ComparisonChanged, data: { ...data, tree: deep } }), /deeper than 64 levels/);
  });

  test('layer details are binary: typed arrays, not JSON arrays of numbers', () => {
    const detail = {
      layer: 'level3', channelMaxAbs: new Float32Array(4), channelMeanAbs: new Float32Array(4),
      values: { lo: -1, hi: 1, reference: new Uint32Array(8), candidate: new Uint32Array(8) },
    };
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.LayerDetail, inReplyTo: 2, detail }));
    assert.throws(() => parseToWebview({ type: MessageType.LayerDetail, inReplyTo: 2, detail: { ...detail, channelMaxAbs: [0, 1] } }),
      /layerDetail\.detail\.channelMaxAbs: expected a Float32Array, got an array/);
  });

  test('a classification result: the top-5 with probabilities, preset, provider and timings', () => {
    const data = {
      image: '/w/probe.png', thumbnail: { uri: 'data:image/png;base64,iVBORw0KGgo=', width: 640, height: 480 }, checkpoint: '/w/dla60.pth', variant: 'dla60', preset: 'timm', presetDescription: 'Resize(256)',
      provider: 'cpu', providerDetail: 'cpu', timingsMs: { load: 400, preprocess: 30, inference: 60 },
      top: [{ index: 502, wnid: 'n03047690', label: 'clog', prob: 0.99 }],
    };
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.ClassificationData, inReplyTo: 1, data }));
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.ClassificationChanged, data }));
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.ClassificationChanged, data: { ...data, thumbnail: null } }));
    assert.throws(() => parseToWebview({ type: MessageType.ClassificationChanged, data: { ...data, thumbnail: { ...data.thumbnail, uri: 'file:///etc/passwd' } } }),
      /classificationChanged\.data\.thumbnail\.uri: expected a data:image\/png URI/);
    assert.throws(() => parseToWebview({ type: MessageType.ClassificationChanged, data: { ...data, image: 7 } }), /classificationChanged\.data\.image: expected a string, got number/);
    assert.throws(() => parseToWebview({ type: MessageType.ClassificationData, inReplyTo: 1, data: { ...data, top: [{ ...data.top[0], prob: '99 %' }] } }),
      /classificationData\.data\.top\[0\]\.prob: expected a number, got string/);
    assert.throws(() => parseToWebview({ type: MessageType.ClassificationData, inReplyTo: 1, data: { ...data, timingsMs: { load: 1 } } }),
      /classificationData\.data\.timingsMs\.preprocess: expected a number/);
  });

  test('replies, errors and pushes; unknown types and non-objects are refused', () => {
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.Done, inReplyTo: 3, message: 'Saved' }));
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.ErrorReply, inReplyTo: 3, message: 'No.' }));
    assert.doesNotThrow(() => parseToWebview({ type: MessageType.RevealModule, id: 'level3' }));
    assert.throws(() => parseToWebview({ type: 'explode' }), /Unknown message type 'explode' sent to the webview/);
    assert.throws(() => parseToWebview('ready'), /to webview: expected an object, got string/);
    assert.throws(() => parseToWebview([1]), /expected an object, got an array/);
  });
});

describe('protocol: messages from the webview', () => {
  test('requests need an integer messageId', () => {
    assert.doesNotThrow(() => parseFromWebview({ type: MessageType.Ready, messageId: 1 }));
    assert.throws(() => parseFromWebview({ type: MessageType.Ready, messageId: 1.5 }), /ready\.messageId: expected an integer/);
    assert.throws(() => parseFromWebview({ type: MessageType.Ready }), /ready\.messageId: expected a number, got undefined/);
  });

  test('GetLayerDetail bins are bounded; ExportReport knows json and html; Rendered knows layout and recolour', () => {
    assert.doesNotThrow(() => parseFromWebview({ type: MessageType.GetLayerDetail, messageId: 1, layer: 'level3', bins: 64 }));
    assert.throws(() => parseFromWebview({ type: MessageType.GetLayerDetail, messageId: 1, layer: 'level3', bins: 0 }), /bins: expected 1\.\.256, got 0/);
    assert.throws(() => parseFromWebview({ type: MessageType.GetLayerDetail, messageId: 1, layer: 'level3', bins: MAX_HISTOGRAM_BINS + 1 }), /expected 1\.\.256/);
    for (const format of ['json', 'html']) assert.doesNotThrow(() => parseFromWebview({ type: MessageType.ExportReport, messageId: 1, format }));
    assert.throws(() => parseFromWebview({ type: MessageType.ExportReport, messageId: 1, format: 'pdf' }), /expected 'json' or 'html', got 'pdf'/);
    assert.doesNotThrow(() => parseFromWebview({ type: MessageType.Rendered, what: 'recolour', nodes: 73, ms: 1.5 }));
    assert.throws(() => parseFromWebview({ type: MessageType.Rendered, what: 'paint', nodes: 73, ms: 1 }), /expected 'layout' or 'recolour'/);
    assert.throws(() => parseFromWebview({ type: MessageType.ComparisonData, inReplyTo: 1 }), /Unknown message type 'comparisonData' sent by the webview/);
  });

  test('messageIdOf lets a malformed request still get its error reply', () => {
    assert.equal(messageIdOf({ type: 'nonsense', messageId: 7 }), 7);
    assert.equal(messageIdOf({ messageId: '7' }), undefined);
    assert.equal(messageIdOf(null), undefined);
  });
});

describe('non-finite numbers through JSON', () => {
  test('NaN and ±Infinity survive a round trip as strings', () => {
    const text = JSON.stringify({ a: NaN, b: Infinity, c: -Infinity, d: 1.5, e: 'x' }, nonFiniteReplacer);
    assert.equal(text, '{"a":"NaN","b":"Infinity","c":"-Infinity","d":1.5,"e":"x"}');
    const back = JSON.parse(text, nonFiniteReviver) as Record<string, unknown>;
    assert.ok(Number.isNaN(back.a));
    assert.equal(back.b, Infinity);
    assert.equal(back.c, -Infinity);
    assert.equal(back.e, 'x');
  });
});
