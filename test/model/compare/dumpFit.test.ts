import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { dumpFitProblem, shapesOf } from '../../../src/model/compare/dumpFit';
import { variantByName } from '../../../src/model/dla/variants';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { referencePath } from '../../helpers/reference';

test("a dump of another variant is named as such; a dump of the reference's own variant passes", () => {
  const dump = readCheckpoint(referencePath('dla46_c_acts_96.npz')).tensors;
  assert.equal(dumpFitProblem(shapesOf(dump), variantByName('dla46_c')!), undefined);
  const problem = dumpFitProblem(shapesOf(dump), variantByName('dla60')!);
  assert.match(problem ?? '', /^The dump's records do not have dla60's shapes: \d+ of the \d+ records both have differ \(level2\.\S+ is \[1, 64, 24, 24\] where dla60 has \[1, 128, 24, 24\]\)\. Every one of them has dla46_c's shape: it is a dump of dla46_c/);
  assert.equal(dumpFitProblem(shapesOf(readCheckpoint(referencePath('dla60_acts_64.npz')).tensors), variantByName('dla60')!), undefined);
});
