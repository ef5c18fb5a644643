import { Injectable } from '@nestjs/common';
import { TaskHandler } from '@app/worker';

/** Returns its payload: the smallest possible task, used by the benchmark. */
@Injectable()
export class EchoHandler {
  @TaskHandler('echo')
  echo(payload: unknown) {
    return payload;
  }
}
