import { DEMO_CONTRACTS } from './demo/demo.contracts';
import { FAULT_CONTRACTS } from './faults/chaos.contract';
import { TaskContractRegistry, TaskSettingsDefaults } from './registry';
import { TaskContract, TaskDefaults } from './task-contract';

/** How a task type's settings are resolved: its contract's defaults over the deployment's, field by field. */
describe('TaskContractRegistry.settingsFor (the registry merge)', () => {
  const deployment: TaskSettingsDefaults = {
    maxRetries: 3,
    timeoutMs: 60_000,
    backoff: { baseMs: 1000, maxMs: 3_600_000 },
  };
  const contract = (type: string, defaults?: TaskDefaults): TaskContract => ({
    type,
    description: type,
    example: null,
    defaults,
    check: (payload) => ({ ok: true, value: payload }),
  });
  const registry = (...contracts: TaskContract[]) => new TaskContractRegistry(contracts, deployment);

  it('gives a type without defaults the deployment’s settings', () => {
    expect(registry(contract('plain')).settingsFor('plain')).toEqual(deployment);
  });

  it('takes each field the contract sets, and the deployment’s for the rest', () => {
    const settings = registry(contract('slow', { timeoutMs: 600_000, backoff: { baseMs: 50 } })).settingsFor('slow');
    expect(settings).toEqual({ maxRetries: 3, timeoutMs: 600_000, backoff: { baseMs: 50, maxMs: 3_600_000 } });
  });

  it('keeps a contract’s zero (no retries) rather than falling back', () => {
    expect(registry(contract('once', { maxRetries: 0 })).settingsFor('once').maxRetries).toBe(0);
  });

  it('never lets an undefined backoff field override the deployment’s (a NaN delay came from that once)', () => {
    const settings = registry(contract('half', { backoff: { baseMs: undefined, maxMs: 10_000 } })).settingsFor('half');
    expect(settings.backoff).toEqual({ baseMs: 1000, maxMs: 10_000 });
  });

  it('gives an unknown type the deployment’s settings, and does not share them to be changed', () => {
    const r = registry(contract('known', { maxRetries: 9 }));
    expect(r.settingsFor('unknown')).toEqual(deployment);
    expect(r.settingsFor('known').backoff).not.toBe(deployment.backoff);
  });

  it('refuses two contracts of one type', () => {
    expect(() => registry(contract('twice'), contract('twice'))).toThrow('task type "twice" has two contracts');
  });

  it('holds the packs a deployment turns on, and only those', () => {
    const types = (contracts: readonly TaskContract[]) => contracts.map((c) => c.type).sort();
    expect(TaskContractRegistry.forDeployment(false).types()).toEqual([]);
    expect(TaskContractRegistry.forDeployment(true).types().sort()).toEqual(types(DEMO_CONTRACTS));
    expect(TaskContractRegistry.forDeployment(true, true, deployment).types().sort()).toEqual(
      types([...DEMO_CONTRACTS, ...FAULT_CONTRACTS]),
    );
  });

  describe('types defined at run time (setRuntimeTypes)', () => {
    it('resolves them like code types, after the code types, and replaces them whole', () => {
      const r = registry(contract('email'));
      r.setRuntimeTypes([contract('py.upper', { maxRetries: 7 }), contract('py.lower')]);
      expect(r.types()).toEqual(['email', 'py.upper', 'py.lower']);
      expect(r.codeTypes()).toEqual(['email']);
      expect(r.sourceOf('py.upper')).toBe('runtime');
      expect(r.sourceOf('email')).toBe('code');
      expect(r.settingsFor('py.upper').maxRetries).toBe(7);
      r.setRuntimeTypes([contract('py.lower')]);
      expect(r.get('py.upper')).toBeUndefined();
      expect(r.sourceOf('py.upper')).toBeUndefined();
      expect(r.settingsFor('py.upper')).toEqual(deployment);
      expect(r.types()).toEqual(['email', 'py.lower']);
    });

    it('never lets a runtime type take the name of a code type', () => {
      const code = contract('email', { maxRetries: 5 });
      const r = registry(code);
      r.setRuntimeTypes([contract('email', { maxRetries: 0 })]);
      expect(r.get('email')).toBe(code);
      expect(r.settingsFor('email').maxRetries).toBe(5);
      expect(r.types()).toEqual(['email']);
    });
  });
});
