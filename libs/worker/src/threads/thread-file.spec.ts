import { resolveThreadFile } from './thread-file';

describe('resolveThreadFile (where a thread-isolated handler module is)', () => {
  const only =
    (...present: string[]) =>
    (path: string) =>
      present.includes(path);

  it('prefers the built .js beside the bundle, else the .ts source', () => {
    expect(resolveThreadFile('/app/dist/cpu.thread', only('/app/dist/cpu.thread.js', '/app/dist/cpu.thread.ts'))).toBe(
      '/app/dist/cpu.thread.js',
    );
    expect(resolveThreadFile('/src/cpu.thread', only('/src/cpu.thread.ts'))).toBe('/src/cpu.thread.ts');
    expect(resolveThreadFile('/src/cpu.thread.js', only('/src/cpu.thread.js'))).toBe('/src/cpu.thread.js');
  });

  it('names the paths it tried, and refuses a relative path', () => {
    expect(resolveThreadFile('/app/dist/cpu.thread', only())).toEqual({
      problem: expect.stringMatching(
        /^no module at \/app\/dist\/cpu\.thread\.js or \/app\/dist\/cpu\.thread\.ts: name the file \*\.thread\.ts/,
      ),
    });
    expect(resolveThreadFile('./cpu.thread', only('./cpu.thread.js'))).toEqual({
      problem: expect.stringContaining('is not an absolute path'),
    });
  });
});
