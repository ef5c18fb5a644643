import { QueueError, QueueErrorCode, wrapRedisError } from './queue-error';

const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('wrapRedisError', () => {
  it('turns a refused send into Unavailable that was certainly not applied', () => {
    const error = wrapRedisError(
      'enqueue',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    );
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({ code: QueueErrorCode.Unavailable, maybeApplied: false });
  });

  it('marks a timeout or a dropped connection as possibly applied', () => {
    expect(wrapRedisError('enqueue', new Error('Command timed out'))).toMatchObject({ maybeApplied: true });
    expect(wrapRedisError('enqueue', new Error('Connection is closed.'))).toMatchObject({ maybeApplied: true });
  });

  it('treats LOADING and BUSY replies as unavailable, other replies as bugs', () => {
    expect(wrapRedisError('claim', replyError('LOADING Redis is loading the dataset in memory'))).toMatchObject({
      code: QueueErrorCode.Unavailable,
      maybeApplied: false,
    });
    // A cluster redirect the client could not follow: refused by that node, nothing ran.
    for (const redirect of [
      'MOVED 1164 127.0.0.1:7001',
      'ASK 1164 127.0.0.1:7001',
      'CLUSTERDOWN The cluster is down',
    ]) {
      expect(wrapRedisError('enqueue', replyError(redirect))).toMatchObject({
        code: QueueErrorCode.Unavailable,
        maybeApplied: false,
      });
    }
    const bug = replyError('ERR user_script:1: Script attempted to access nonexistent global variable');
    expect(wrapRedisError('claim', bug)).toBe(bug);
  });
});
