/** Types of scripts/redis-topologies.js, for the TypeScript tests that start topologies of their own. */

export interface TopologyServer {
  readonly name: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** redis-server's last log lines. */
  readonly log: string[];
}

export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  masterId: string | null;
  /** Flagged `fail` or `fail?` by the node asked. */
  failed: boolean;
  connected: boolean;
  myself: boolean;
  /** Slot ranges [from, to], inclusive. */
  slots: [number, number][];
}

interface Topology {
  /** The temp dir holding every server's files. */
  readonly root: string;
  readonly servers: TopologyServer[];
  /** TEST_REDIS_* for the parameterised suites (test/support/redis.ts). */
  readonly testEnv: Record<string, string>;
  /** REDIS_* for the apps. */
  readonly appEnv: Record<string, string>;
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterTopology extends Topology {
  readonly kind: 'cluster';
  readonly ports: number[];
  /** `host:port,...` of every node. */
  readonly nodesList: string;
  topology(): Promise<ClusterNodeInfo[]>;
  masters(): Promise<ClusterNodeInfo[]>;
  waitHealthy(options?: { timeoutMs?: number; replicas?: boolean }): Promise<void>;
}

export interface SentinelTopology extends Topology {
  readonly kind: 'sentinel';
  readonly name: string;
  /** [0] started as the master, [1] as its replica. */
  readonly dataServers: TopologyServer[];
  readonly sentinels: TopologyServer[];
  readonly sentinelList: string;
  masterPort(): Promise<number>;
  waitHealthy(options?: { timeoutMs?: number; replica?: boolean }): Promise<void>;
}

export function startCluster(options?: {
  masters?: number;
  replicas?: number;
  nodeTimeoutMs?: number;
  extraArgs?: string[];
}): Promise<ClusterTopology>;

export function startSentinel(options?: {
  name?: string;
  sentinels?: number;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}): Promise<SentinelTopology>;

export function clusterNodes(port: number): Promise<ClusterNodeInfo[]>;
export function freePort(): Promise<number>;
/** One command on a short-lived connection to a node on loopback. */
export function ask(port: number, ...command: (string | number)[]): Promise<unknown>;
