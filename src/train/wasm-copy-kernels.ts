/**
 * Concat, Slice and SplitV for the tfjs wasm backend as copies inside its heap. The stock kernels
 * are JavaScript that, along an inner axis (channels in NHWC), copy row by row through a new
 * subarray per row, and Slice first copies its whole input out of the heap: for the UNet's
 * channel concatenations and their gradients that was about 15 ms a step at batch 32 plus the
 * garbage. Here each row is one copyWithin on the heap, which allocates nothing. Values are moved
 * bit for bit; float32 and int32 only, anything else goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';

interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
}

const copyable = (dtype: tf.DataType): boolean => dtype === 'float32' || dtype === 'int32';
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The heap as 32-bit words (re-read after every allocation: the heap may have grown). */
function words(backend: WasmBackendInternals): Int32Array {
  return new Int32Array(backend.wasm.HEAPU8.buffer);
}

const offsetOf = (backend: WasmBackendInternals, t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset / 4;

/** out <- x[begin : begin + sizes] (any rank), one copyWithin per innermost run. */
function sliceInto(backend: WasmBackendInternals, x: tf.TensorInfo, begin: number[], sizes: number[]): tf.TensorInfo {
  const out = backend.makeOutput(sizes, x.dtype);
  if (size(sizes) === 0) return out;
  const heap = words(backend);
  const rank = x.shape.length;
  const strides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * x.shape[d + 1];
  // Merge trailing axes taken whole into one run.
  let run = 1;
  let last = rank - 1;
  while (last > 0 && begin[last] === 0 && sizes[last] === x.shape[last]) run *= sizes[last--];
  run *= sizes[last];
  const src = offsetOf(backend, x);
  let dst = offsetOf(backend, out);
  const index = new Array<number>(last).fill(0);
  for (;;) {
    let from = src + begin[last] * strides[last];
    for (let d = 0; d < last; d++) from += (begin[d] + index[d]) * strides[d];
    heap.copyWithin(dst, from, from + run);
    dst += run;
    let d = last - 1;
    while (d >= 0 && ++index[d] === sizes[d]) index[d--] = 0;
    if (d < 0) return out;
  }
}

function register(name: string, kernelFunc: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  const existing = tf.getKernel(name, 'wasm');
  if (existing === undefined || (existing as { ours?: boolean }).ours) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc(existing.kernelFunc), ...{ ours: true } });
}

export function registerWasmCopyKernels(): void {
  register('Concat', (stock) => (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const backend = args.backend as unknown as WasmBackendInternals;
    if (!inputs.every((t) => copyable(t.dtype))) return stock(args);
    const axis = tf.util.parseAxisParam(args.attrs?.axis as number, inputs[0].shape)[0];
    const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
    const parts = inputs.filter((t) => size(t.shape) > 0);
    if (parts.length < 2) return stock(args);
    const out = backend.makeOutput(outShape, parts[0].dtype);
    const heap = words(backend);
    const outer = size(outShape.slice(0, axis));
    const inner = parts.map((t) => size(t.shape.slice(axis)));
    const sources = parts.map((t) => offsetOf(backend, t));
    let dst = offsetOf(backend, out);
    for (let b = 0; b < outer; b++) {
      for (let i = 0; i < parts.length; i++) {
        heap.copyWithin(dst, sources[i] + b * inner[i], sources[i] + (b + 1) * inner[i]);
        dst += inner[i];
      }
    }
    return out;
  });
  register('Slice', (stock) => (args) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (!copyable(x.dtype) || x.shape.length === 0) return stock(args);
    const [begin, sizes] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, args.attrs?.begin as number[], args.attrs?.size as number[]);
    return sliceInto(args.backend as unknown as WasmBackendInternals, x, begin, sizes);
  });
  register('SplitV', (stock) => (args) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (!copyable(x.dtype) || x.shape.length === 0) return stock(args);
    const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
    const splits = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs?.numOrSizeSplits as number[], axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return splits.map((s) => {
      const sizes = [...x.shape];
      sizes[axis] = s;
      const part = sliceInto(args.backend as unknown as WasmBackendInternals, x, [...begin], sizes);
      begin[axis] += s;
      return part;
    });
  });
}
