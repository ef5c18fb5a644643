export const CONTRACT_REGISTRY = Symbol('taskq:contract-registry');
