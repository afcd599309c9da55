/** Reads a whole (small) tensor of a safetensors file as float64 values, for assertions. */
import { openSafetensors } from '../../src/safetensors/reader.js';
import { decodeFloats } from '../../src/safetensors/dtype-convert.js';
import { elementCount } from '../../src/tensors/tensor-source.js';

export async function readTensorValues(path: string, name: string): Promise<Float64Array> {
  const file = await openSafetensors(path);
  try {
    const tensor = file.tensor(name);
    const bytes = new Uint8Array(tensor.byteLength);
    await file.read(name, 0, bytes);
    const values = new Float64Array(elementCount(tensor.shape));
    decodeFloats(tensor.dtype, bytes, values);
    return values;
  } finally {
    await file.close();
  }
}
