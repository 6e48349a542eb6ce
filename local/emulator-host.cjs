'use strict';
/**
 * Runs the AWS API emulators (dynalite for DynamoDB, kinesalite for Kinesis) in a process of their
 * own, so the local stack uses a second core: the handlers in the main process, the emulators here.
 * Started by local/emulators.ts with child_process.fork; plain CommonJS so that it loads the same
 * under tsx, jest and plain node. Reports its endpoints over IPC, stops on "stop" or when the parent
 * goes away (the IPC channel closes), so it never outlives the stack.
 */
const dynalite = require('dynalite');
const kinesalite = require('kinesalite');

const options = JSON.parse(process.argv[2] || '{}');
const path = (name) => (options.dataDir ? { path: `${options.dataDir}/${name}` } : {});
const ddb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...path('dynamodb') });
const kin = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100, ...path('kinesis') });

const listen = (server, port) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
const close = (server) =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });

let stopping;
function stop() {
  stopping ??= Promise.all([close(ddb), close(kin)]).finally(() => process.exit(0));
  return stopping;
}

process.on('message', (message) => {
  if (message === 'stop') void stop();
});
process.on('disconnect', () => void stop());
// Ctrl-C reaches the whole process group: the parent stops the stack and then this process, in order.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop());

Promise.all([listen(ddb, options.dynamodbPort || 0), listen(kin, options.kinesisPort || 0)]).then(
  ([dynamodbEndpoint, kinesisEndpoint]) => process.send({ ready: true, dynamodbEndpoint, kinesisEndpoint }),
  (error) => {
    process.send({ ready: false, error: String(error && error.message ? error.message : error) });
    process.exit(1);
  },
);
