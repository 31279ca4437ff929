package states

import "context"

// branchResult is a finished branch or iteration, handed to the parent with
// a hold on the clock so that time cannot move before the parent looks.
type branchResult struct {
	index int
	out   any
	err   *failure
	prev  int64 // the branch's last event
	busy  func()
}

// fanOut runs n branches, at most limit at once (0: all at once), each in
// its own goroutine holding its own hold on the clock. done is called on the
// parent thread for each finished branch, in completion order; a failure it
// returns cancels the branches still running and is fanOut's result once
// they have all stopped.
func (x *Execution) fanOut(ctx context.Context, th *thread, n, limit int,
	run func(ctx context.Context, i int, child *thread) (any, *failure),
	done func(r branchResult) *failure) *failure {
	if n == 0 {
		return nil
	}
	clk := th.clk()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan branchResult, n)
	next, running := 0, 0
	launch := func() {
		i := next
		next++
		running++
		child := th.child(th.prev)
		go func() {
			child.adopt(nil) // wait for this branch's turn
			out, err := run(cctx, i, child)
			// Report before giving up the baton, so results arrive in the
			// order the branches finished.
			ch <- branchResult{index: i, out: out, err: err, prev: child.prev, busy: clk.Busy()}
			child.release()
		}()
	}
	for next < n && (limit <= 0 || running < limit) {
		launch()
	}
	var stop *failure
	for running > 0 {
		if stop == nil {
			th.release()
		} else {
			// Cancelled branches wake through their context, with no one
			// handing them a hold on the clock: keep time still until they
			// have all unwound.
			th.releaseBaton()
		}
		r := <-ch
		th.adopt(r.busy)
		running--
		if stop == nil {
			if f := done(r); f != nil {
				stop = f
				cancel()
			}
		}
		if stop == nil && next < n {
			launch()
		}
	}
	return stop
}

// parallelAttempt runs a Parallel state once: every branch gets the same
// input; the result is the array of branch outputs in branch order. The
// first branch to fail stops the others and fails the state with its error.
func (x *Execution) parallelAttempt(ctx context.Context, th *thread, st *state, input any, cobj *contextObj) (any, *failure) {
	eff, ferr := st.inputPath.apply(input, cobj, "InputPath")
	if ferr != nil {
		return nil, ferr
	}
	if st.parameters != nil {
		if eff, ferr = st.parameters.eval(eff, cobj, "Parameters"); ferr != nil {
			return nil, ferr
		}
	}
	x.record(th, HistoryEvent{Type: "ParallelStateStarted"})
	results := make([]any, len(st.branches))
	ferr = x.fanOut(ctx, th, len(st.branches), 0,
		func(ctx context.Context, i int, child *thread) (any, *failure) {
			return x.runMachine(ctx, child, st.branches[i], deepCopy(eff), nil)
		},
		func(r branchResult) *failure {
			if r.err != nil {
				return r.err
			}
			results[r.index] = r.out
			return nil
		})
	if ferr != nil {
		if !ferr.aborted {
			x.record(th, HistoryEvent{Type: "ParallelStateFailed"})
		}
		return nil, ferr
	}
	x.record(th, HistoryEvent{Type: "ParallelStateSucceeded"})
	return x.finishResult(st, input, results, cobj)
}

// finishResult applies ResultSelector, ResultPath and OutputPath.
func (x *Execution) finishResult(st *state, input, result any, cobj *contextObj) (any, *failure) {
	var ferr *failure
	if st.resultSelector != nil {
		if result, ferr = st.resultSelector.eval(result, cobj, "ResultSelector"); ferr != nil {
			return nil, ferr
		}
	}
	out, ferr := st.resultPath.apply(input, result)
	if ferr != nil {
		return nil, ferr
	}
	return st.outputPath.apply(out, cobj, "OutputPath")
}
