import { EmaSynthError } from '../errors.js';

export async function run(argv: string[]): Promise<number> {
  try {
    process.stdout.write(`ema-synth: ${argv.join(' ')}\n`);
    return 0;
  } catch (error) {
    if (error instanceof EmaSynthError) {
      process.stderr.write(`error: ${error.message}\n`);
      if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
      return error.exitCode;
    }
    throw error;
  }
}
