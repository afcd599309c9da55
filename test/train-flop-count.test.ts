import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { presetConfig } from '../src/train/model/config.js';
import { stepFlops } from '../src/train/model/flop-count.js';

test('small16 step FLOPs equal a layer-by-layer hand count (MPUNET.md sections 3 and 8)', () => {
  // Multiply-adds per image, written out from the layer list: pixels x taps x in x out.
  const p16 = 256;
  const p8 = 64;
  const attention = (c: number): number => p8 * c * 3 * c + p8 * c * c + 2 * p8 * p8 * c; // qkv, proj, q k^T and a v
  const macs = [
    p16 * 9 * 4 * 24, // enc 16x16_conv (3 channels + the constant one)
    2 * p16 * 9 * 24 * 24, // enc 16x16_block0
    2 * p8 * 9 * 24 * 24, // enc 8x8_down
    p8 * 24 * 48 + 2 * p8 * 9 * 48 * 48 + attention(48), // enc 8x8_block0: skip, res0, res1, attention
    2 * p8 * 9 * 48 * 48 + attention(48), // dec 8x8_in0
    2 * p8 * 9 * 48 * 48, // dec 8x8_in1
    p8 * 9 * 96 * 48 + p8 * 9 * 48 * 48 + p8 * 96 * 48 + attention(48), // dec 8x8_block0
    p8 * 9 * 72 * 48 + p8 * 9 * 48 * 48 + p8 * 72 * 48 + attention(48), // dec 8x8_block1
    2 * p16 * 9 * 48 * 48, // dec 16x16_up
    p16 * 9 * 72 * 24 + p16 * 9 * 24 * 24 + p16 * 72 * 24, // dec 16x16_block0
    p16 * 9 * 48 * 24 + p16 * 9 * 24 * 24 + p16 * 48 * 24, // dec 16x16_block1
    p16 * 9 * 24 * 3, // out_conv
  ].reduce((a, b) => a + b, 0);
  const flops = stepFlops(presetConfig('small16'), 32);
  const products = flops.conv3x3 + flops.conv1x1 + flops.attention;
  assert.equal(products, 2 * macs * 32);
  assert.equal(flops.step, 3 * flops.forward);
  // The embedding layers are a rounding error: under 0.1% of the step.
  assert.ok(flops.linear / flops.forward < 1e-3, String(flops.linear / flops.forward));
  // 8.48 GFLOP a step: at PyTorch's 165 ms that is the 51 GFLOP/s of MPUNET.md section 9.
  assert.ok(Math.abs(flops.step / 1e9 - 8.477) < 0.001, String(flops.step / 1e9));
});
