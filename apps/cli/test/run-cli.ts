import { runCli } from '../src/cli';
import { CannedAnswers, FakeClient, fakeClient } from '../../../test/support/fake-client';

export interface FakeRun {
  code: number;
  stdout: string;
  stderr: string;
  fake: FakeClient;
}

/**
 * `taskq ...argv` in-process against a fake client answering `answers`: the exit code, what it wrote, and the
 * calls it made. `env` is the CLI's whole environment (none by default); `errIsTty` draws the progress bar.
 */
export async function runFake(
  argv: string[],
  answers: CannedAnswers = {},
  options: { env?: Record<string, string>; errIsTty?: boolean } = {},
): Promise<FakeRun> {
  const fake = fakeClient(answers);
  let stdout = '';
  let stderr = '';
  const io = {
    out: (text: string) => void (stdout += text),
    err: (text: string) => void (stderr += text),
    errIsTty: options.errIsTty ?? false,
  };
  const code = await runCli(argv, io, options.env ?? {}, fake.connect);
  return { code, stdout, stderr, fake };
}
