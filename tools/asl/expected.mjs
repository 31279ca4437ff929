// expected.mjs [--check] [NAME...]: runs every conformance case through
// aws-local-stepfunctions, the independent reference implementation, and
// writes its result as the case's "expected" answer.
//
// Cases marked "deviation" (the reference is known to deviate from the
// specification there) and invalid-definition cases keep their hand-written
// answer. Task states run the case's task scripts (see cases.mjs); Wait states
// and Retry pauses are overridden to 0 ms so nothing really sleeps. With
// --check nothing is written: the command fails when a committed answer
// differs from what the reference says now. No network is used.
import { writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { StateMachine } from 'aws-local-stepfunctions';
import { loadCases, statesOf, runScript, executionContext } from './cases.mjs';

const args = process.argv.slice(2);
const check = args.includes('--check');
const only = new Set(args.filter((a) => !a.startsWith('--')));
const perCaseTimeoutMs = 20000;

// reference runs one case and returns the answer in the corpus' shape.
async function reference(c) {
  const tasks = c.tasks ?? {};
  const calls = new Map();
  const taskResourceLocalHandlers = {};
  const waitTimeOverrides = {};
  const retryIntervalOverrides = {};
  const missing = [];
  statesOf(c.definition, (name, st) => {
    if (st.Type === 'Task') {
      if (!(name in tasks)) missing.push(name);
      taskResourceLocalHandlers[name] = async (input) => {
        const k = (calls.get(name) ?? 0) + 1;
        calls.set(name, k);
        return runScript(tasks[name], input, k);
      };
    }
    if (st.Type === 'Wait') waitTimeOverrides[name] = 0;
    if (st.Retry) retryIntervalOverrides[name] = 0;
  });
  if (missing.length) throw new Error(`task states without a script: ${missing.join(', ')}`);

  // The reference adds fields (QueryLanguage) to the definition it is given.
  // validate.mjs checks the definitions; validating again here costs ~0.1 s a case.
  const sm = new StateMachine(structuredClone(c.definition), { validationOptions: { noValidate: true } });
  const exec = sm.run(structuredClone(c.input), {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: structuredClone(executionContext),
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result after ${perCaseTimeoutMs} ms`)), perCaseTimeoutMs);
  });
  try {
    const output = await Promise.race([exec.result, timeout]);
    return { status: 'SUCCEEDED', output: output === undefined ? null : output };
  } catch (err) {
    if (err?.name !== 'ExecutionError') {
      exec.abort();
      throw err;
    }
    const cause = err.cause ?? {};
    const got = { status: 'FAILED', error: cause.name ?? '' };
    // The reference's own messages for the predefined States.* errors are
    // not the service's text, so only user-defined causes are compared.
    if (!got.error.startsWith('States.')) got.cause = cause.message ?? '';
    return got;
  } finally {
    clearTimeout(timer);
  }
}

let changed = 0;
let failed = 0;
let ran = 0;
const mismatches = [];
for (const c of loadCases()) {
  if (only.size && !only.has(c.name)) continue;
  if (c.deviation || c.expected?.invalid) continue;
  ran++;
  let got;
  try {
    got = await reference(c);
  } catch (err) {
    failed++;
    console.log(`ERROR ${c.name}: ${err.message}`);
    continue;
  }
  if (isDeepStrictEqual(got, c.expected)) continue;
  changed++;
  if (check) {
    mismatches.push(c.name);
    console.log(`DIFF  ${c.name}: committed ${JSON.stringify(c.expected)}, reference says ${JSON.stringify(got)}`);
    continue;
  }
  const file = c.file;
  delete c.file;
  c.expected = got;
  writeFileSync(file, JSON.stringify(c, null, 2) + '\n');
  console.log(`wrote ${c.name}: ${JSON.stringify(got)}`);
}
console.log(`${ran} cases run by the reference, ${changed} ${check ? 'differ' : 'updated'}, ${failed} could not run`);
process.exit(failed || (check && changed) ? 1 : 0);
