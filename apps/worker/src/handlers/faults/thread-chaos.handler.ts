import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { TaskHandler } from '@app/worker';

/** `thread_chaos`: the fault pack's thread-isolated type; its code is thread-chaos.thread.ts. */
@Injectable()
@TaskHandler('thread_chaos', { isolation: 'thread', file: join(__dirname, 'thread-chaos.thread') })
export class ThreadChaosHandler {}
