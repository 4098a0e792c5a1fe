import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nonFiniteReplacer, nonFiniteReviver } from '../../src/shared/nonFinite';
import { messageIdOf, parseToPage } from '../../src/shared/channel';
import { checkpointProtocol } from '../../src/shared/checkpointProtocol';
import { classificationProtocol } from '../../src/shared/classificationProtocol';
import { MAX_HISTOGRAM_BINS, comparisonProtocol } from '../../src/shared/comparisonProtocol';
import { ProtocolError } from '../../src/shared/validate';
import { comparisonData } from '../webview/comparison/fixture';

/**
 * The page protocols' validators: what a real message looks like passes untouched; a malformed one
 * is refused with the message type and the field path named, so a protocol bug reads as one line.
 * Each page accepts its own messages only.
 */
const toComparison = (m: unknown) => parseToPage(comparisonProtocol, m);
const toClassification = (m: unknown) => parseToPage(classificationProtocol, m);
const fromComparison = (m: unknown) => comparisonProtocol.parseFromPage(m);

const clone = <T>(x: T): T => structuredClone(x);

describe('page protocols: messages to a page', () => {
  const data = comparisonData();

  test('a real comparison passes, as reply and as push, NaN metrics included', () => {
    const withNaN = clone(data) as unknown as { layers: { diff: { scaledMaxAbs: number } }[] };
    withNaN.layers[5].diff.scaledMaxAbs = NaN;
    const msg = { type: 'comparisonData', inReplyTo: 1, data: withNaN };
    assert.equal(toComparison(msg), msg);
    assert.doesNotThrow(() => toComparison({ type: 'comparisonChanged', data }));
  });

  test('a wrong field is named by its path', () => {
    const bad = clone(data) as unknown as { layers: { diff: { cosine: unknown } }[] };
    bad.layers[3].diff.cosine = '1';
    assert.throws(() => toComparison({ type: 'comparisonData', inReplyTo: 1, data: bad }),
      (e: Error) => e instanceof ProtocolError && /comparisonData\.data\.layers\[3\]\.diff\.cosine: expected a number, got string/.test(e.message));
    assert.throws(() => toComparison({ type: 'comparisonData', data }), /comparisonData\.inReplyTo: expected a number, got undefined/);
    const noTree = clone(data) as unknown as { tree: unknown };
    noTree.tree = null;
    assert.throws(() => toComparison({ type: 'comparisonChanged', data: noTree }), /comparisonChanged\.data\.tree: expected an object, got null/);
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
    assert.throws(() => toComparison({ type: 'comparisonChanged', data: { ...data, tree: deep } }), /deeper than 64 levels/);
  });

  test('layer details are binary: typed arrays, not JSON arrays of numbers', () => {
    const detail = {
      layer: 'level3', channelMaxAbs: new Float32Array(4), channelMeanAbs: new Float32Array(4),
      values: { lo: -1, hi: 1, reference: new Uint32Array(8), candidate: new Uint32Array(8) },
    };
    assert.doesNotThrow(() => toComparison({ type: 'layerDetail', inReplyTo: 2, detail }));
    assert.throws(() => toComparison({ type: 'layerDetail', inReplyTo: 2, detail: { ...detail, channelMaxAbs: [0, 1] } }),
      /layerDetail\.detail\.channelMaxAbs: expected a Float32Array, got an array/);
  });

  test('a classification result: the top-5 with probabilities, preset, provider and timings', () => {
    const data = {
      image: '/w/probe.png', thumbnail: { uri: 'data:image/png;base64,iVBORw0KGgo=', width: 640, height: 480 }, checkpoint: '/w/dla60.pth', variant: 'dla60', preset: 'timm', presetDescription: 'Resize(256)',
      provider: 'cpu', providerDetail: 'cpu', timingsMs: { load: 400, preprocess: 30, inference: 60 },
      top: [{ index: 502, wnid: 'n03047690', label: 'clog', prob: 0.99 }],
    };
    assert.doesNotThrow(() => toClassification({ type: 'classificationData', inReplyTo: 1, data }));
    assert.doesNotThrow(() => toClassification({ type: 'classificationChanged', data }));
    assert.doesNotThrow(() => toClassification({ type: 'classificationChanged', data: { ...data, thumbnail: null } }));
    assert.throws(() => toClassification({ type: 'classificationChanged', data: { ...data, thumbnail: { ...data.thumbnail, uri: 'file:///etc/passwd' } } }),
      /classificationChanged\.data\.thumbnail\.uri: expected a data:image\/png URI/);
    assert.throws(() => toClassification({ type: 'classificationChanged', data: { ...data, image: 7 } }), /classificationChanged\.data\.image: expected a string, got number/);
    assert.throws(() => toClassification({ type: 'classificationData', inReplyTo: 1, data: { ...data, top: [{ ...data.top[0], prob: '99 %' }] } }),
      /classificationData\.data\.top\[0\]\.prob: expected a number, got string/);
    assert.throws(() => toClassification({ type: 'classificationData', inReplyTo: 1, data: { ...data, timingsMs: { load: 1 } } }),
      /classificationData\.data\.timingsMs\.preprocess: expected a number/);
  });

  test('replies, errors and pushes; unknown types and non-objects are refused', () => {
    assert.doesNotThrow(() => toComparison({ type: 'done', inReplyTo: 3, message: 'Saved' }));
    assert.doesNotThrow(() => toComparison({ type: 'errorReply', inReplyTo: 3, message: 'No.' }));
    assert.doesNotThrow(() => toComparison({ type: 'revealModule', id: 'level3' }));
    assert.throws(() => toComparison({ type: 'explode' }), /Unknown message type 'explode' sent to the comparison page/);
    assert.throws(() => toComparison('ready'), /to comparison page: expected an object, got string/);
    assert.throws(() => toComparison([1]), /expected an object, got an array/);
  });

  test('a type named after an Object property is unknown, not looked up on the prototype', () => {
    for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.throws(() => toComparison({ type, inReplyTo: 1 }), new RegExp(`Unknown message type '${type}' sent to the comparison page`));
      assert.throws(() => fromComparison({ type, messageId: 1 }), new RegExp(`Unknown message type '${type}' sent by the comparison page`));
    }
  });

  test('a reply needs its inReplyTo', () => {
    assert.throws(() => toComparison({ type: 'done', message: 'Saved' }), /done\.inReplyTo: expected a number, got undefined/);
  });

  test('a page takes only its own messages: another page\'s reply or push is refused', () => {
    const classification = { type: 'classificationChanged', data: {} };
    assert.throws(() => toComparison(classification), /Unknown message type 'classificationChanged' sent to the comparison page/);
    assert.throws(() => toClassification({ type: 'revealModule', id: 'level3' }), /Unknown message type 'revealModule' sent to the classification page/);
    assert.throws(() => parseToPage(checkpointProtocol, { type: 'comparisonData', inReplyTo: 1, data }), /sent to the checkpoint page/);
    assert.throws(() => checkpointProtocol.parseFromPage({ type: 'getLayerDetail', messageId: 1, layer: 'x', bins: 4 }), /sent by the checkpoint page/);
    assert.throws(() => classificationProtocol.parseFromPage({ type: 'exportReport', messageId: 1, format: 'json' }), /sent by the classification page/);
  });
});

describe('page protocols: messages from a page', () => {
  test('requests need an integer messageId', () => {
    assert.doesNotThrow(() => fromComparison({ type: 'ready', messageId: 1 }));
    assert.throws(() => fromComparison({ type: 'ready', messageId: 1.5 }), /ready\.messageId: expected an integer/);
    assert.throws(() => fromComparison({ type: 'ready' }), /ready\.messageId: expected a number, got undefined/);
  });

  test('GetLayerDetail bins are bounded; ExportReport knows json and html; Rendered knows layout and recolour', () => {
    assert.doesNotThrow(() => fromComparison({ type: 'getLayerDetail', messageId: 1, layer: 'level3', bins: 64 }));
    assert.throws(() => fromComparison({ type: 'getLayerDetail', messageId: 1, layer: 'level3', bins: 0 }), /bins: expected 1\.\.256, got 0/);
    assert.throws(() => fromComparison({ type: 'getLayerDetail', messageId: 1, layer: 'level3', bins: MAX_HISTOGRAM_BINS + 1 }), /expected 1\.\.256/);
    for (const format of ['json', 'html']) assert.doesNotThrow(() => fromComparison({ type: 'exportReport', messageId: 1, format }));
    assert.throws(() => fromComparison({ type: 'exportReport', messageId: 1, format: 'pdf' }), /expected 'json' or 'html', got 'pdf'/);
    assert.doesNotThrow(() => fromComparison({ type: 'rendered', what: 'recolour', nodes: 73, ms: 1.5 }));
    assert.throws(() => fromComparison({ type: 'rendered', what: 'paint', nodes: 73, ms: 1 }), /expected 'layout' or 'recolour'/);
    assert.throws(() => fromComparison({ type: 'comparisonData', inReplyTo: 1 }), /Unknown message type 'comparisonData' sent by the comparison page/);
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
