import { RegisterCommand } from '../command';
import * as cancel from './cancel';
import * as dlq from './dlq';
import * as get from './get';
import * as keys from './keys';
import * as ls from './ls';
import * as purge from './purge';
import * as queues from './queues';
import * as retry from './retry';
import * as schedules from './schedules';
import * as submit from './submit';
import * as types from './types';
import * as workers from './workers';

/** Every command module, in the order `taskq --help` lists them. A new command adds its module here. */
export const COMMANDS: RegisterCommand[] = [
  submit.register,
  get.register,
  ls.register,
  cancel.register,
  retry.register,
  dlq.register,
  queues.register,
  purge.register,
  workers.register,
  schedules.register,
  types.register,
  keys.register,
];
