/**
 * Entry point of `npm run setup:tensorflow` (bin/setup-tensorflow.js): flags, progress on stderr,
 * the result on stdout, and the one place that turns a SetupError into `error:`/`hint:` lines.
 */
import { fileURLToPath } from 'node:url';
import { EmaSynthError, UsageError } from '../errors.js';
import { setupTensorflow } from './setup-tensorflow.js';

const USAGE = `usage: npm run setup:tensorflow [-- --gpu] [-- --cache DIR]
Installs the optional native TensorFlow backend (@tensorflow/tfjs-node 4.22.0, or -gpu with --gpu)
from PyPI's TensorFlow wheel instead of the storage host its install script uses.
  --gpu        the CUDA build (tfjs-node-gpu, the tensorflow wheel and NVIDIA's CUDA wheels)
  --cache DIR  where wheels and extracted libraries are kept (default ~/.cache/ema-synth)
`;

function parseArgs(argv: readonly string[]): { gpu: boolean; cacheDir?: string; help: boolean } {
  let gpu = false;
  let cacheDir: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--gpu') gpu = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--cache' && argv[i + 1] !== undefined) cacheDir = argv[++i];
    else throw new UsageError(`unknown argument ${arg}`, 'run with --help for usage');
  }
  return { gpu, cacheDir, help };
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const r = await setupTensorflow({ gpu: args.gpu, cacheDir: args.cacheDir, root }, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(
      `installed    ${r.package}, addon built against ${r.wheel}\n` +
      `tensorflow   ${r.tensorflowVersion}${r.usingGpu ? ' (GPU device in use)' : ''}\n` +
      `cpu kernels  oneDNN: ${r.cpuIsa ?? 'no oneDNN report'}\n` +
      (r.notCompiledFor ? `             (outside oneDNN the wheel is compiled without ${r.notCompiledFor})\n` : '') +
      (args.gpu && !r.usingGpu ? 'gpu          none usable here: --backend tensorflow-gpu will refuse to run (auto uses this build on the CPU)\n' : '') +
      `cache        ${r.cacheDir}\n` +
      `took         ${r.seconds.toFixed(1)} s\n` +
      `use it with  ema-synth train --backend ${args.gpu ? 'tensorflow-gpu' : 'tensorflow'} ... (auto picks it too)\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof EmaSynthError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
}
