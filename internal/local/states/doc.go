// Package states executes Amazon States Language definitions (JSONPath query
// language) the way Step Functions does, on an injected clock, so that
// pushdeploy's state machine runs locally and in tests exactly as written.
//
// Parse checks a definition and lists every problem (unknown fields, field
// types, transitions, unreachable states, paths, intrinsic syntax, Retry and
// Catch rules) in a *DefinitionError. An Engine runs Machines; each
// Execution records a history in the shape of GetExecutionHistory.
//
// Semantics worth knowing, where the specification leaves room:
//   - Data flows InputPath -> Parameters -> work -> ResultSelector ->
//     ResultPath -> OutputPath. A missing InputPath/OutputPath/ItemsPath
//     match is States.Runtime; a missing Parameters/ResultSelector/
//     ItemSelector match is States.ParameterPathFailure; intrinsic errors are
//     States.IntrinsicFailure; a ResultPath that cannot be applied is
//     States.ResultPathMatchFailure; a Choice with no match and no Default is
//     States.NoChoiceMatched; output over 256 KiB is States.DataLimitExceeded.
//     EngineOptions.AWSErrorNames reports the first three as States.Runtime,
//     as the AWS service does.
//   - States.ALL matches every error except States.Runtime and
//     States.DataLimitExceeded (AWS). States.TaskFailed matches every error
//     except the timeouts (AWS). States.Timeout also matches
//     States.HeartbeatTimeout (the specification's wording).
//   - The first Retrier whose ErrorEquals matches decides, even when its
//     attempts are spent; each Retrier counts its own attempts. The wait
//     before retry n is IntervalSeconds * BackoffRate^(n-1), capped by
//     MaxDelaySeconds, and with JitterStrategy FULL drawn from [0, that].
//   - A failing Parallel branch or Map iteration stops its siblings and fails
//     the state with its own error. With ToleratedFailureCount/Percentage a
//     Map keeps going, puts {"Error","Cause"} in a failed item's slot, and
//     fails with States.ExceedToleratedFailureThreshold past the threshold.
//   - Task tokens: SendTask* on a malformed token is InvalidToken, on a token
//     never issued TaskDoesNotExist, on a finished task TaskTimedOut.
//
// Time: every wait (Wait states, retry intervals, task timeouts, heartbeats)
// is a timer on the injected clock.Clock. An execution holds clk.Busy()
// while it computes and releases it while it waits, so a virtual clock with
// AutoAdvance runs a day-long Wait at once. Whoever wakes an execution hands
// it a hold taken beforehand (timer callbacks, SendTaskSuccess/Failure), so
// time cannot jump between the wake-up and the work. A TaskRunner runs under
// the execution's hold; one that waits on the clock calls Idle around it.
//
// Determinism: Parallel branches and Map iterations are goroutines, but one
// thread of an execution computes at a time, taking turns in FIFO order
// (branches in index order) whenever one waits. Outputs are in branch/item
// order, and the history and the failure reported are the same on every
// run. A RunTask call keeps the turn unless the runner calls Idle.
package states
