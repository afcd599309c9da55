/**
 * The TensorFlow wheels the native backend is built from. PyPI's `tensorflow-cpu` (and, for CUDA,
 * `tensorflow`) wheels carry libtensorflow_cc.so.2, which exports TensorFlow's C API (the `TF_*`
 * and eager `TFE_*` functions @tensorflow/tfjs-node's addon calls), libtensorflow_framework.so.2
 * and the C headers. Only those files are used; nothing of the wheel's Python side is.
 *
 * Pinned by file name and SHA-256, so every machine builds against the same bytes. The Python tag
 * (cp311) only names the file: the two libraries do not link against libpython (readelf -d shows
 * no libpython in NEEDED), so the wheel is fetched for that tag whatever Python pip runs on.
 * 2.19 is the newest release tried; from 2.20 on the wheels are built differently.
 */
export interface PinnedWheel {
  readonly project: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  /** Tags for `pip download --python-version/--abi/--platform`, so the pin resolves to this file. */
  readonly pythonVersion: string;
  readonly abi: string;
  readonly platform: string;
}

export const TFJS_NODE_VERSION = '4.22.0';

/** The libtensorflow version @tensorflow/tfjs-node 4.22.0's install script looks for in deps/lib. */
export const TFJS_NODE_LIBTENSORFLOW = '2.9.1';

export const CPU_WHEEL: PinnedWheel = {
  project: 'tensorflow-cpu',
  version: '2.19.0',
  file: 'tensorflow_cpu-2.19.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
  sha256: '9389305ae3012288a5e367081b6757bfb9d86d4048c69989c659830b257e1c51',
  pythonVersion: '3.11',
  abi: 'cp311',
  platform: 'manylinux2014_x86_64',
};

/**
 * The CUDA build: PyPI's `tensorflow` wheel for Linux is compiled with CUDA and loads the CUDA
 * libraries at run time from NVIDIA's wheels (its `and-cuda` extra), looked up through the
 * libraries' RUNPATH, which includes $ORIGIN/. Not run here: this machine has no GPU.
 */
export const GPU_WHEEL: PinnedWheel = {
  ...CPU_WHEEL,
  project: 'tensorflow',
  file: 'tensorflow-2.19.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
  sha256: '390747786ac979809fa1cfcf6916220ef0bfed6b9e1b8c643b6b09184a868fe4',
};

/** tensorflow 2.19.0's `and-cuda` requirements, exactly as its METADATA pins them. */
export const CUDA_REQUIREMENTS: readonly string[] = [
  'nvidia-cublas-cu12==12.5.3.2', 'nvidia-cuda-cupti-cu12==12.5.82', 'nvidia-cuda-nvcc-cu12==12.5.82',
  'nvidia-cuda-nvrtc-cu12==12.5.82', 'nvidia-cuda-runtime-cu12==12.5.82', 'nvidia-cudnn-cu12==9.3.0.75',
  'nvidia-cufft-cu12==11.2.3.61', 'nvidia-curand-cu12==10.3.6.82', 'nvidia-cusolver-cu12==11.6.3.83',
  'nvidia-cusparse-cu12==12.5.1.3', 'nvidia-nccl-cu12==2.23.4', 'nvidia-nvjitlink-cu12==12.5.82',
];
