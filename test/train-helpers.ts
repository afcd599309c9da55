/** Shared by the train tests: run the CLI in-process with captured streams. */
import { run } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/io.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => { stdout += text; return true; } },
    stderr: { write: (text: string) => { stderr += text; return true; }, isTTY: false },
    env: {},
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}
