/**
 * Floating-point operations of one training step, counted from the layer shapes (MPUNET.md
 * sections 2-3), so that measured step times can be compared with what the hardware can do.
 * Counts the multiply-adds of convolutions, linear layers and attention products only (2 FLOP per
 * multiply-add); elementwise work is a few percent and memory-bound. A training step costs three
 * times the forward products: the forward pass, the input gradient and the weight gradient. Pure
 * bookkeeping, no tfjs.
 */
import { buildArchitecture, type BlockSpec } from './architecture.js';
import type { NetworkConfig } from './config.js';

export interface StepFlops {
  /** Forward products of 3x3 convolutions, 1x1 convolutions (skips, qkv, proj), attention. */
  conv3x3: number;
  conv1x1: number;
  attention: number;
  /** Linear layers on the embedding (negligible, counted for completeness). */
  linear: number;
  /** Sum of the above: one forward pass. */
  forward: number;
  /** Forward + backward (input and weight gradients): 3x forward. */
  step: number;
}

/** side: the resolution the block's convolutions run at, which its name carries (after resampling). */
function blockFlops(b: BlockSpec, side: number, embChannels: number, acc: StepFlops): void {
  const pixels = side * side;
  const res0In = b.flavor === 'enc' ? b.outChannels : b.inChannels;
  acc.conv3x3 += 2 * pixels * 9 * (res0In * b.outChannels + b.outChannels * b.outChannels);
  if (b.inChannels !== b.outChannels) acc.conv1x1 += 2 * pixels * b.inChannels * b.outChannels;
  acc.linear += 2 * embChannels * b.outChannels;
  if (b.heads > 0) {
    const c = b.outChannels;
    acc.conv1x1 += 2 * pixels * c * 3 * c + 2 * pixels * c * c; // qkv and proj
    // logits q k^T and the weighted sum a v: 2 products of pixels x pixels x (c / heads) per head.
    acc.attention += 2 * 2 * pixels * pixels * c;
  }
}

/** FLOPs of one training step at batch size `batch` (forward products x 3, see file comment). */
export function stepFlops(config: NetworkConfig, batch: number): StepFlops {
  const arch = buildArchitecture(config);
  const acc: StepFlops = { conv3x3: 0, conv1x1: 0, attention: 0, linear: 0, forward: 0, step: 0 };
  const sideOf = (prefix: string): number => Number(/\.(\d+)x\d+_/.exec(prefix)?.[1]);
  for (const m of arch.encoder) {
    const side = sideOf(m.prefix);
    if (m.kind === 'conv') acc.conv3x3 += 2 * side * side * 9 * m.inChannels * m.outChannels;
    else blockFlops(m, side, arch.embChannels, acc);
  }
  for (const m of arch.decoder) blockFlops(m, sideOf(m.prefix), arch.embChannels, acc);
  const r = config.resolution;
  const outConv = arch.params.find((p) => p.name === 'unet.out_conv.weight')?.internalShape ?? [3, 3, 0, 0];
  acc.conv3x3 += 2 * r * r * 9 * outConv[2] * outConv[3];
  acc.linear += 2 * arch.noiseChannels * arch.embChannels + 2 * config.logvarChannels;
  for (const key of ['conv3x3', 'conv1x1', 'attention', 'linear'] as const) acc[key] *= batch;
  acc.forward = acc.conv3x3 + acc.conv1x1 + acc.attention + acc.linear;
  acc.step = 3 * acc.forward;
  return acc;
}
