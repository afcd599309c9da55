/**
 * Stride-1 'same' convolution (odd square kernels, HWIO filters, NHWC) with a hand-written gradient.
 * tfjs's own Conv2D gradient is extremely slow on cpu and missing on wasm (no
 * Conv2DBackpropFilter), see MPUNET.md section 9. Both gradients are again forward convolutions,
 * the fastest kernel every backend has:
 *  - dx = conv(dy, W flipped in space, in/out swapped), 'same';
 *  - dW = a 'valid' conv that treats input channels as the batch and the batch as channels:
 *    dW[a,b,i,o] = sum_{n,h,w} xpad[n,h+a,w+b,i] dy[n,h,w,o].
 * 1x1 kernels are plain matrix products.
 */
import * as tf from '@tensorflow/tfjs';

function conv1x1(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [n, h, wd, cin] = x.shape;
  const cout = w.shape[3];
  return tf.reshape(tf.matMul(tf.reshape(x, [n * h * wd, cin]), tf.reshape(w, [cin, cout])), [n, h, wd, cout]);
}

// Explicit transposes: on wasm a matMul with a transpose flag leaves XNNPACK's fast path (~8x slower).
function gradients1x1(x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D): [tf.Tensor, tf.Tensor] {
  const [n, h, wd, cin] = x.shape;
  const cout = w.shape[3];
  const dy2 = tf.reshape(dy, [n * h * wd, cout]);
  const dx = tf.reshape(tf.matMul(dy2, tf.transpose(tf.reshape(w, [cin, cout]))), x.shape);
  const dw = tf.reshape(tf.matMul(tf.transpose(tf.reshape(x, [n * h * wd, cin])), dy2), w.shape);
  return [dx, dw];
}

/** W[k-1-a, k-1-b, o, i] from HWIO W[a, b, i, o], done in JS: the filter is tiny and tfjs's Reverse is slow on wasm. */
function flippedTransposed(w: tf.Tensor4D): tf.Tensor4D {
  const [k, , cin, cout] = w.shape;
  const src = w.dataSync() as Float32Array;
  const dst = new Float32Array(src.length);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const from = ((k - 1 - a) * k + (k - 1 - b)) * cin * cout;
      const to = (a * k + b) * cout * cin;
      for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) dst[to + o * cin + i] = src[from + i * cout + o];
    }
  }
  return tf.tensor4d(dst, [k, k, cout, cin]);
}

function gradientsKxK(x: tf.Tensor4D, w: tf.Tensor4D, dy: tf.Tensor4D): [tf.Tensor, tf.Tensor] {
  const k = w.shape[0];
  const pad = (k - 1) / 2;
  const wBack = flippedTransposed(w);
  const dx = tf.conv2d(dy, wBack, 1, 'same');
  const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H, W, N]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, N, Cout]
  const r = tf.conv2d(xT, dyT, 1, [[0, 0], [pad, pad], [pad, pad], [0, 0]]); // [Cin, k, k, Cout]
  return [dx, tf.transpose(r, [1, 2, 0, 3])];
}

/** The hand-written gradient: for wasm (no Conv2DBackpropFilter kernel) and cpu. */
const convSameCustom = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x4, w4] = args as tf.Tensor4D[];
  const save = args[2] as tf.GradSaveFunc;
  save([x4, w4]);
  const k = w4.shape[0];
  return {
    value: k === 1 ? conv1x1(x4, w4) : tf.conv2d(x4, w4, 1, 'same'),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor4D[];
      return k === 1 ? gradients1x1(xs, ws, dy) : gradientsKxK(xs, ws, dy);
    },
  };
}) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/**
 * y = conv2d(x, w, stride 1, 'same'); x NHWC, w HWIO with an odd square kernel. Native TensorFlow
 * has fast Conv2DBackpropInput/Filter kernels (oneDNN on CPU, cuDNN on GPU), so there tfjs's own
 * gradient is used; the custom one would also read every filter back to JS to flip it. Measured on
 * one thread, forward + backward at batch 32: 6.6-8.1 ms CPU against 11-14 ms (3x3, 16x16, 24->24).
 */
export function convSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (tf.getBackend() !== 'tensorflow') return convSameCustom(x, w);
  return w.shape[0] === 1 ? conv1x1(x, w) : tf.conv2d(x, w, 1, 'same');
}
