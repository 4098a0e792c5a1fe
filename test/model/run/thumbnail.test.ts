import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { thumbnail } from '../../../src/model/run/thumbnail';

describe('thumbnail', () => {
  test('a large image becomes a PNG data URI that fits the box, keeping its aspect; the original size is reported', async () => {
    const png = await sharp({ create: { width: 1200, height: 600, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
    const t = await thumbnail(png, 300);
    assert.equal(t.width, 1200);
    assert.equal(t.height, 600);
    assert.match(t.uri, /^data:image\/png;base64,/);
    const meta = await sharp(Buffer.from(t.uri.split(',')[1], 'base64')).metadata();
    assert.equal(meta.width, 300);
    assert.equal(meta.height, 150);
  });

  test('a small image is not enlarged; a non-image is refused', async () => {
    const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#123456' } }).jpeg().toBuffer();
    const meta = await sharp(Buffer.from((await thumbnail(jpeg)).uri.split(',')[1], 'base64')).metadata();
    assert.deepEqual([meta.width, meta.height], [40, 30]);
    await assert.rejects(thumbnail(new Uint8Array([1, 2, 3])));
  });
});
