import { defineScript, scriptReply } from './script';

/** The scripts of the key schema migration (SchemaMigration, ADR 12). */

/** lua/moveToReady-3.lua: entries moved (0: none left). */
export const moveToReady = defineScript({
  command: 'taskqMoveToReady',
  keys: ['queued', 'ready', 'meta'],
  argv: (a: { taskPrefix: string; batch: number }) => [a.taskPrefix, a.batch],
  decode: scriptReply.number,
});

/** lua/compactTask-1.lua: fields dropped. */
export const compactTask = defineScript({
  command: 'taskqCompactTask',
  keys: ['task'],
  argv: (a: { id: string }) => [a.id],
  decode: scriptReply.number,
});
