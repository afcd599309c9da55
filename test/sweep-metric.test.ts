import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastNumberToken, parseMetric } from '../src/sweep/metric.js';

// Truth: the values are written out in the inputs; exact equality is right since Number() parses
// the same decimal text.
test('takes the last number printed, including negative losses', () => {
  assert.equal(parseMetric('epoch 1 train 0.5\nval_loss -0.1447\n'), -0.1447);
  assert.equal(parseMetric('val_loss -0.1447'), -0.1447);
});

test('reads exponent notation and key=value output', () => {
  assert.equal(parseMetric('fid=2.31e+00'), 2.31);
  assert.equal(parseMetric('loss 1E-3\n'), 0.001);
  assert.equal(parseMetric('{"fid": 12.5, "is": 3.25}'), 3.25);
});

test('accepts leading-dot, trailing-dot, signed and percent forms', () => {
  assert.equal(parseMetric('x .5'), 0.5);
  assert.equal(parseMetric('best loss was 0.25.'), 0.25);
  assert.equal(parseMetric('delta +3'), 3);
  assert.equal(parseMetric('acc: 97.5%'), 97.5);
  assert.equal(parseMetric('(-2)'), -2);
});

test('ignores digits inside words, versions and hyphenated names', () => {
  assert.equal(parseMetric('fid 4.5\nsaved ckpt_epoch3'), 4.5);
  assert.equal(parseMetric('fid 4.5\nusing torch v2.1'), 4.5);
  assert.equal(parseMetric('fid 4.5\nrun step-3 0x1F 3rd 1.2.3'), 4.5);
  assert.equal(parseMetric('model-7b done'), undefined);
});

test('gives undefined when nothing numeric is printed', () => {
  assert.equal(parseMetric(''), undefined);
  assert.equal(parseMetric('done.\n'), undefined);
  assert.equal(parseMetric('information only'), undefined);
});

test('a trailing NaN or infinity is not a metric, and does not fall back to an earlier number', () => {
  assert.equal(parseMetric('epoch 5 val_loss nan'), undefined);
  assert.equal(parseMetric('epoch 5 val_loss -inf'), undefined);
  assert.equal(parseMetric('epoch 5 fid Infinity'), undefined);
  assert.equal(parseMetric('epoch 5 fid 1e999'), undefined);
  assert.equal(lastNumberToken('epoch 5 val_loss NaN'), 'NaN');
});

test('strips ANSI colour codes before looking for numbers', () => {
  assert.equal(parseMetric('fid \x1b[32m0.5\x1b[0m\n'), 0.5);
  assert.equal(parseMetric('\x1b[1;31mfid\x1b[0m 7'), 7);
});
