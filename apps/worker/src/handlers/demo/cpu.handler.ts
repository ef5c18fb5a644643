import { Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { TaskHandler } from '@app/worker';

/** `cpu`: a busy loop in a worker thread, the demo of `isolation: 'thread'`; its code is cpu.thread.ts. */
@Injectable()
@TaskHandler('cpu', { isolation: 'thread', file: join(__dirname, 'cpu.thread') })
export class CpuHandler {}
