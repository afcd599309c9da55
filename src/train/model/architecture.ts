/**
 * The UNet's module list and every parameter/buffer it owns, derived from a config
 * (MPUNET.md sections 2-4). Pure bookkeeping shared by construction, the forward pass,
 * parameter counting and snapshot export; no tfjs.
 */
import { derivedWidths, NetworkConfig, validateConfig } from './config.js';

export type ParamKind = 'conv' | 'linear' | 'gain';

export interface ParamSpec {
  /** Official PyTorch name, e.g. 'unet.enc.16x16_conv.weight'. */
  name: string;
  kind: ParamKind;
  /** Official layout: conv [out, in, k, k], linear [out, in], gain []. */
  officialShape: number[];
  /** Our layout: conv HWIO [k, k, in, out], linear [in, out], gain []. */
  internalShape: number[];
  /** attn_qkv weights: our output channels are grouped q|k|v instead of interleaved (see snapshot-layout). */
  qkv: boolean;
  /** Weights only: the learned scalar gain multiplied into the effective weight (emb_gain, out_gain). */
  gain?: string;
}

export interface BufferSpec {
  name: string;
  length: number;
}

export interface BlockSpec {
  kind: 'block';
  /** Official module prefix, e.g. 'unet.enc.8x8_block0'. */
  prefix: string;
  flavor: 'enc' | 'dec';
  resample: 'keep' | 'down' | 'up';
  inChannels: number;
  outChannels: number;
  heads: number;
  /** Decoder 'block' modules concatenate a popped skip before running. */
  takesSkip: boolean;
}

export interface ConvSpec {
  kind: 'conv';
  prefix: string;
  inChannels: number;
  outChannels: number;
}

export interface Architecture {
  encoder: Array<ConvSpec | BlockSpec>;
  decoder: BlockSpec[];
  params: ParamSpec[];
  buffers: BufferSpec[];
  noiseChannels: number;
  embChannels: number;
}

function convParam(name: string, cin: number, cout: number, k: number, qkv = false): ParamSpec {
  return { name, kind: 'conv', officialShape: [cout, cin, k, k], internalShape: [k, k, cin, cout], qkv };
}

function linearParam(name: string, cin: number, cout: number): ParamSpec {
  return { name, kind: 'linear', officialShape: [cout, cin], internalShape: [cin, cout], qkv: false };
}

function gainParam(name: string): ParamSpec {
  return { name, kind: 'gain', officialShape: [], internalShape: [], qkv: false };
}

function blockParams(b: BlockSpec, embChannels: number): ParamSpec[] {
  const p = b.prefix;
  const res0In = b.flavor === 'enc' ? b.outChannels : b.inChannels;
  const list = [
    gainParam(`${p}.emb_gain`),
    convParam(`${p}.conv_res0.weight`, res0In, b.outChannels, 3),
    { ...linearParam(`${p}.emb_linear.weight`, embChannels, b.outChannels), gain: `${p}.emb_gain` },
    convParam(`${p}.conv_res1.weight`, b.outChannels, b.outChannels, 3),
  ];
  if (b.inChannels !== b.outChannels) list.push(convParam(`${p}.conv_skip.weight`, b.inChannels, b.outChannels, 1));
  if (b.heads > 0) {
    list.push(convParam(`${p}.attn_qkv.weight`, b.outChannels, 3 * b.outChannels, 1, true));
    list.push(convParam(`${p}.attn_proj.weight`, b.outChannels, b.outChannels, 1));
  }
  return list;
}

export function buildArchitecture(config: NetworkConfig): Architecture {
  validateConfig(config);
  const { cblock, noiseChannels, embChannels } = derivedWidths(config);
  const heads = (cout: number, attention: boolean): number =>
    attention ? Math.floor(cout / config.channelsPerHead) : 0;
  const block = (
    prefix: string, flavor: 'enc' | 'dec', resample: BlockSpec['resample'],
    cin: number, cout: number, attention: boolean, takesSkip = false,
  ): BlockSpec => ({
    kind: 'block', prefix, flavor, resample, inChannels: cin, outChannels: cout, heads: heads(cout, attention), takesSkip,
  });

  const encoder: Array<ConvSpec | BlockSpec> = [];
  const skips: number[] = [];
  let cout = config.channels + 1;
  cblock.forEach((channels, level) => {
    const res = config.resolution >> level;
    if (level === 0) {
      encoder.push({ kind: 'conv', prefix: `unet.enc.${res}x${res}_conv`, inChannels: cout, outChannels: channels });
      cout = channels;
    } else {
      encoder.push(block(`unet.enc.${res}x${res}_down`, 'enc', 'down', cout, cout, false));
    }
    skips.push(cout);
    for (let i = 0; i < config.numBlocks; i++) {
      encoder.push(block(`unet.enc.${res}x${res}_block${i}`, 'enc', 'keep', cout, channels,
        config.attnResolutions.includes(res)));
      cout = channels;
      skips.push(cout);
    }
  });

  const decoder: BlockSpec[] = [];
  for (let level = cblock.length - 1; level >= 0; level--) {
    const res = config.resolution >> level;
    if (level === cblock.length - 1) {
      decoder.push(block(`unet.dec.${res}x${res}_in0`, 'dec', 'keep', cout, cout, true));
      decoder.push(block(`unet.dec.${res}x${res}_in1`, 'dec', 'keep', cout, cout, false));
    } else {
      decoder.push(block(`unet.dec.${res}x${res}_up`, 'dec', 'up', cout, cout, false));
    }
    for (let i = 0; i <= config.numBlocks; i++) {
      const skip = skips.pop() as number;
      decoder.push(block(`unet.dec.${res}x${res}_block${i}`, 'dec', 'keep', cout + skip, cblock[level],
        config.attnResolutions.includes(res), true));
      cout = cblock[level];
    }
  }

  // Parameter order follows the official module registration order, so exports list tensors
  // the way the official state dict does.
  const params: ParamSpec[] = [gainParam('unet.out_gain'), linearParam('unet.emb_noise.weight', noiseChannels, embChannels)];
  if (config.labelDim > 0) params.push(linearParam('unet.emb_label.weight', config.labelDim, embChannels));
  for (const m of encoder) {
    if (m.kind === 'conv') params.push(convParam(`${m.prefix}.weight`, m.inChannels, m.outChannels, 3));
    else params.push(...blockParams(m, embChannels));
  }
  for (const m of decoder) params.push(...blockParams(m, embChannels));
  params.push({ ...convParam('unet.out_conv.weight', cblock[0], config.channels, 3), gain: 'unet.out_gain' });
  params.push(linearParam('logvar_linear.weight', config.logvarChannels, 1));

  const buffers: BufferSpec[] = [
    { name: 'unet.emb_fourier.freqs', length: noiseChannels },
    { name: 'unet.emb_fourier.phases', length: noiseChannels },
    { name: 'logvar_fourier.freqs', length: config.logvarChannels },
    { name: 'logvar_fourier.phases', length: config.logvarChannels },
  ];
  return { encoder, decoder, params, buffers, noiseChannels, embChannels };
}
