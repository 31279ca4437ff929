// Shared helpers for the conformance corpus: loading case files and the task
// scripting that conformance_test.go implements identically in Go.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const corpusDir = join(repoRoot, 'internal', 'local', 'states', 'testdata', 'conformance');

// The context object both runners give an execution ($$). StartTime is left
// out on purpose: aws-local-stepfunctions always sets it to the real time.
export const executionContext = {
  Execution: {
    Id: 'arn:aws:states:us-east-1:123456789012:execution:Conformance:exec-1',
    Name: 'exec-1',
    RoleArn: 'arn:aws:iam::123456789012:role/conformance',
  },
  StateMachine: {
    Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:Conformance',
    Name: 'Conformance',
  },
};

export function loadCases(dir = corpusDir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      const c = JSON.parse(readFileSync(path, 'utf8'));
      c.file = path;
      return c;
    });
}

// statesOf walks a definition, including Parallel branches and Map
// processors, and calls fn(name, state) for every state.
export function statesOf(def, fn) {
  for (const [name, st] of Object.entries(def?.States ?? {})) {
    fn(name, st);
    for (const b of st.Branches ?? []) statesOf(b, fn);
    if (st.ItemProcessor) statesOf(st.ItemProcessor, fn);
    if (st.Iterator) statesOf(st.Iterator, fn);
  }
}

export class TaskError extends Error {
  constructor(error, cause) {
    super(cause ?? '');
    this.name = error;
  }
}

// Task scripting. A script is one of:
//   {"return": V}                       result V
//   {"echo": true}                      result is the task input
//   {"count": true}                     result is k, the number of this call
//   {"fail": {"error": E, "cause": C}}  fail with E/C
//   {"failTimes": N, "error": E, "cause": C, "then": S}
//                                       calls 1..N fail with E/C, later ones run S
//   {"failIf": F, "error": E, "cause": C, "else": S}
//                                       fail when the input is an object whose field F is true, else S
//   {"sequence": [S1, S2, ...]}         call k runs S_k (the last one repeats)
//   {"hang": true}                      never completes (for TimeoutSeconds)
// k counts the calls of one state name within one execution, from 1.
export function runScript(script, input, k) {
  if (script === null || typeof script !== 'object') throw new Error(`bad task script ${JSON.stringify(script)}`);
  if ('return' in script) return script.return;
  if (script.echo) return input;
  if (script.count) return k;
  if (script.fail) throw new TaskError(script.fail.error, script.fail.cause);
  if ('failTimes' in script) {
    if (k <= script.failTimes) throw new TaskError(script.error, script.cause);
    return runScript(script.then, input, k);
  }
  if ('failIf' in script) {
    if (input !== null && typeof input === 'object' && !Array.isArray(input) && input[script.failIf] === true) {
      throw new TaskError(script.error, script.cause);
    }
    return runScript(script.else, input, k);
  }
  if (script.sequence) {
    const s = script.sequence;
    return runScript(s[Math.min(k, s.length) - 1], input, k);
  }
  if (script.hang) return new Promise(() => {});
  throw new Error(`unknown task script ${JSON.stringify(script)}`);
}
