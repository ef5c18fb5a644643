import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { SubmitTaskDto } from './dto/submit-task.dto';
import { isPlainValidBatch, isPlainValidTask } from './submit-body.pipe';

/** The fast path may only ever say "valid" where class-validator says so too. */
function classValidatorAccepts(body: unknown): boolean {
  const dto = plainToInstance(SubmitTaskDto, body);
  return (
    validateSync(dto as object, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }).length === 0
  );
}

describe('submit body fast path', () => {
  const valid = { task_type: 'echo', payload: { n: 1 } };
  const variants: unknown[] = [
    valid,
    { ...valid, payload: null },
    { ...valid, queue: 'default', priority: 100, max_retries: 0, delay_ms: 0, timeout_ms: 1 },
    { ...valid, priority: -100 },
    { ...valid, priority: 101 },
    { ...valid, priority: 1.5 },
    { ...valid, priority: '5' },
    { ...valid, max_retries: -1 },
    { ...valid, max_retries: 101 },
    { ...valid, timeout_ms: 0 },
    { ...valid, delay_ms: 31_536_000_001 },
    { ...valid, queue: 'Bad{Queue}' },
    { ...valid, queue: null },
    { ...valid, colour: 'red' },
    { ...valid, run_at: '2030-01-01T09:00:00Z' },
    { ...valid, delay_ms: 5, run_at: '2030-01-01T09:00:00Z' },
    { task_type: 'bad type!', payload: 1 },
    { task_type: 5, payload: 1 },
    { payload: 1 },
    { task_type: 'echo' },
    [],
    null,
    'echo',
  ];

  it.each(variants.map((body) => [JSON.stringify(body), body]))('agrees with class-validator on %s', (_name, body) => {
    if (isPlainValidTask(body)) expect(classValidatorAccepts(body)).toBe(true);
  });

  it('takes the common shapes and leaves everything unusual to class-validator', () => {
    expect(isPlainValidTask(valid)).toBe(true);
    expect(isPlainValidTask({ ...valid, run_at: '2030-01-01T09:00:00Z' })).toBe(false);
    expect(isPlainValidTask({ ...valid, queue: null })).toBe(false);
    expect(isPlainValidBatch({ tasks: [valid, valid] })).toBe(true);
    expect(isPlainValidBatch({ tasks: [] })).toBe(false);
    expect(isPlainValidBatch({ tasks: [valid, { ...valid, priority: 101 }] })).toBe(false);
    expect(isPlainValidBatch({ tasks: [valid], extra: 1 })).toBe(false);
  });
});
