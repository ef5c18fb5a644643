import { runCli } from './cli';
import { processIo } from './output';

// stdout and stderr are synchronous for files and pipes on Linux: nothing written is lost by exiting here,
// and exiting does not wait for idle keep-alive sockets.
runCli(process.argv.slice(2), processIo(), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`taskq: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
