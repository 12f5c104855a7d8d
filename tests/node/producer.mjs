// A Node.js workflow engine's side of the queue contract (DESIGN §3), with the real npm `bullmq`:
// add a job named `action` to `ghl-bridge-actions` and wait for the Python worker's result.
//
//   REDIS_URL=redis://127.0.0.1:6379/0 node tests/node/producer.mjs --tenant T --location L \
//     [--mode create|invalid] [--input JSON] [--timeout-ms 20000] [--prefix bull]
//
// --mode create (default) runs contacts.create with --input (default: a unique contact) and
// expects the job to complete; --mode invalid sends input that fails the action's schema and
// expects the job to fail at once, without retries. Either way one JSON line goes to stdout:
//   {"jobId", "state", "attemptsMade", "attemptsAllowed", "returnValue"? | "failedReason"?}
// Exit status: 0 the job ended as expected · 1 it ended the other way · 2 timeout · 3 usage or
// connection error.

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { Job, Queue, QueueEvents } from 'bullmq';

const QUEUE = 'ghl-bridge-actions'; // ghl_bridge.jobs.names.ACTIONS_QUEUE
const JOB_NAME = 'action'; // ghl_bridge.jobs.names.ACTION_JOB
const INVALID_INPUT = { email: 'not-an-email' };

function usage(message) {
  process.stderr.write(`producer.mjs: ${message}\n`);
  process.exit(3);
}

function parse() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        tenant: { type: 'string' },
        location: { type: 'string' },
        mode: { type: 'string', default: 'create' },
        input: { type: 'string' },
        'idempotency-key': { type: 'string' },
        'timeout-ms': { type: 'string', default: '20000' },
        prefix: { type: 'string', default: 'bull' },
      },
      strict: true,
    }).values;
  } catch (error) {
    usage(error.message);
  }
  if (!parsed.tenant || !parsed.location) usage('--tenant and --location are required');
  if (!['create', 'invalid'].includes(parsed.mode)) usage('--mode must be create or invalid');
  const timeoutMs = Number(parsed['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) usage('--timeout-ms must be a positive integer');
  let input;
  if (parsed.mode === 'invalid') {
    input = INVALID_INPUT;
  } else if (parsed.input !== undefined) {
    try {
      input = JSON.parse(parsed.input);
    } catch (error) {
      usage(`--input is not JSON: ${error.message}`);
    }
  } else {
    const tag = randomUUID().slice(0, 8);
    input = { firstName: 'Node', lastName: `Producer ${tag}`, email: `node-${tag}@example.com` };
  }
  return { ...parsed, input, timeoutMs };
}

// Fail fast when Redis is unreachable instead of ioredis' endless reconnecting.
function connection(url) {
  return {
    url,
    connectTimeout: 3000,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  };
}

async function describe(queue, jobId, extra) {
  const job = await Job.fromId(queue, jobId);
  return {
    jobId,
    state: job ? await job.getState() : 'missing',
    attemptsMade: job?.attemptsMade ?? null,
    attemptsAllowed: job?.opts?.attempts ?? null,
    ...(job?.failedReason ? { failedReason: job.failedReason } : {}),
    ...extra,
  };
}

// Add the job and wait for it; returns the summary printed on stdout.
async function run(args, queue, events) {
  // Subscribe before adding, so the job's completion cannot be missed.
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const job = await queue.add(
    JOB_NAME,
    {
      tenant: args.tenant,
      locationId: args.location,
      action: 'contacts.create',
      input: args.input,
      idempotencyKey: args['idempotency-key'] ?? `node-${randomUUID()}`,
    },
    // A transient failure is retried twice with backoff; a permanent one (invalid input, an
    // unknown tenant) fails at once: the Python worker raises BullMQ's UnrecoverableError.
    { attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  );
  try {
    const returnValue = await job.waitUntilFinished(events, args.timeoutMs);
    return await describe(queue, job.id, { returnValue });
  } catch (error) {
    const message = String(error?.message ?? error);
    if (message.includes('timed out before finishing')) {
      return await describe(queue, job.id, { timedOut: true, timeoutMs: args.timeoutMs });
    }
    // waitUntilFinished rejects with the failedReason; the stored job has the rest.
    return await describe(queue, job.id, { failedReason: message });
  }
}

async function main() {
  const args = parse();
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  const opts = { connection: connection(url), prefix: args.prefix };
  const queue = new Queue(QUEUE, opts);
  const events = new QueueEvents(QUEUE, opts);
  // Without a listener an 'error' event would crash the process; failures surface below.
  for (const emitter of [queue, events]) emitter.on('error', () => {});
  // A hard stop a little after the job wait, in case Redis itself hangs.
  const guard = setTimeout(() => {
    process.stderr.write(`producer.mjs: no answer from Redis within ${args.timeoutMs + 5000}ms\n`);
    process.exit(2);
  }, args.timeoutMs + 5000);

  let exitCode;
  try {
    const result = await run(args, queue, events);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const expected = args.mode === 'create' ? 'completed' : 'failed';
    exitCode = result.timedOut ? 2 : result.state === expected ? 0 : 1;
  } catch (error) {
    process.stderr.write(`producer.mjs: ${error?.message ?? error}\n`);
    exitCode = 3;
  }
  clearTimeout(guard);
  await Promise.allSettled([events.close(), queue.close()]);
  process.exit(exitCode);
}

await main();
