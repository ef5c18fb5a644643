import { ClaimedTask } from '@app/queue';

/** A task this worker is running now. */
export interface ActiveRun {
  task: ClaimedTask;
  controller: AbortController;
  /** Local estimate of the lease deadline (renewed by each heartbeat). */
  leaseUntil: number;
  /** Set when the lease is gone (recovered elsewhere) or handed back at shutdown: the outcome is not applied. */
  abandoned?: 'lease_lost' | 'released';
  done: Promise<void>;
}
