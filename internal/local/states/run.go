package states

import (
	"context"
	"time"
)

// contextObj is the context object ($$) of one state attempt, built lazily
// because most states never read it.
type contextObj struct {
	x       *Execution
	state   string
	entered time.Time
	retries int
	token   string
	item    *mapItem
	cache   map[string]any
}

// maxPayload is Step Functions' limit on a state's output: 256 KiB.
const maxPayload = 256 * 1024

type mapItem struct {
	index int
	value any
}

func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (c *contextObj) value() any {
	if c == nil {
		return map[string]any{}
	}
	if c.cache != nil {
		return c.cache
	}
	x := c.x
	m := map[string]any{
		"Execution": map[string]any{
			"Id":           x.info.ID,
			"Input":        deepCopy(x.inputValue),
			"Name":         x.info.Name,
			"RoleArn":      x.info.RoleArn,
			"StartTime":    isoMillis(x.info.StartTime),
			"RedriveCount": numberOf(0),
		},
		"StateMachine": map[string]any{
			"Id":   x.info.StateMachineID,
			"Name": x.info.StateMachineName,
		},
		"State": map[string]any{
			"EnteredTime": isoMillis(c.entered),
			"Name":        c.state,
			"RetryCount":  numberOf(int64(c.retries)),
		},
	}
	if c.token != "" {
		m["Task"] = map[string]any{"Token": c.token}
	}
	if c.item != nil {
		m["Map"] = map[string]any{"Item": map[string]any{
			"Index": numberOf(int64(c.item.index)),
			"Value": deepCopy(c.item.value),
		}}
	}
	c.cache = m
	return m
}

// runMachine runs a set of states from StartAt to a terminal state.
func (x *Execution) runMachine(ctx context.Context, th *thread, def *machineDef, input any, item *mapItem) (any, *failure) {
	name := def.startAt
	for {
		if ctx.Err() != nil {
			return nil, &failure{aborted: true}
		}
		st := def.states[name]
		out, next, ferr := x.runState(ctx, th, st, input, item)
		if ferr != nil {
			return nil, ferr
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

// runState runs one state and returns its output and the next state's name
// ("" when the state ends its machine).
func (x *Execution) runState(ctx context.Context, th *thread, st *state, input any, item *mapItem) (any, string, *failure) {
	cobj := &contextObj{x: x, state: st.name, entered: th.clk().Now(), item: item}
	x.record(th, HistoryEvent{Type: st.typ + "StateEntered", StateEnteredEventDetails: &StateEnteredEventDetails{
		Name: st.name, Input: mustJSON(input), InputDetails: &HistoryDetails{},
	}})
	var out any
	next := st.next
	var ferr *failure
	switch st.typ {
	case "Pass":
		out, ferr = x.pass(st, input, cobj)
	case "Succeed":
		out, ferr = st.inputPath.apply(input, cobj, "InputPath")
		if ferr == nil {
			out, ferr = st.outputPath.apply(out, cobj, "OutputPath")
		}
	case "Fail":
		return nil, "", x.failState(st, input, cobj)
	case "Choice":
		out, next, ferr = x.choiceState(st, input, cobj)
	case "Wait":
		out, ferr = x.waitState(ctx, th, st, input, cobj)
	case "Task", "Parallel", "Map":
		out, next, ferr = x.withRetry(ctx, th, st, input, cobj)
	}
	if ferr != nil {
		return nil, "", x.engine.rename(ferr)
	}
	outJSON := mustJSON(out)
	if len(outJSON) > maxPayload {
		return nil, "", failf(ErrDataLimitExceeded, "The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", st.name)
	}
	x.record(th, HistoryEvent{Type: st.typ + "StateExited", StateExitedEventDetails: &StateExitedEventDetails{
		Name: st.name, Output: outJSON, OutputDetails: &HistoryDetails{},
	}})
	if st.end && next == st.next {
		next = ""
	}
	return out, next, nil
}

func (x *Execution) pass(st *state, input any, cobj *contextObj) (any, *failure) {
	eff, ferr := st.inputPath.apply(input, cobj, "InputPath")
	if ferr != nil {
		return nil, ferr
	}
	if st.parameters != nil {
		if eff, ferr = st.parameters.eval(eff, cobj, "Parameters"); ferr != nil {
			return nil, ferr
		}
	}
	result := eff
	if st.hasResult {
		result = deepCopy(st.result)
	}
	out, ferr := st.resultPath.apply(input, result)
	if ferr != nil {
		return nil, ferr
	}
	return st.outputPath.apply(out, cobj, "OutputPath")
}

func (x *Execution) failState(st *state, input any, cobj *contextObj) *failure {
	f := &failure{Name: st.errorName, Cause: st.cause}
	if st.errorExpr != nil {
		v, ferr := st.errorExpr.eval(input, cobj)
		if ferr != nil {
			return ferr
		}
		s, ok := v.(string)
		if !ok {
			return failf(ErrRuntime, "ErrorPath of state '%s' must select a string, not %s", st.name, typeName(v))
		}
		f.Name = s
	}
	if st.causeExpr != nil {
		v, ferr := st.causeExpr.eval(input, cobj)
		if ferr != nil {
			return ferr
		}
		s, ok := v.(string)
		if !ok {
			return failf(ErrRuntime, "CausePath of state '%s' must select a string, not %s", st.name, typeName(v))
		}
		f.Cause = s
	}
	return f
}

func (x *Execution) choiceState(st *state, input any, cobj *contextObj) (any, string, *failure) {
	eff, ferr := st.inputPath.apply(input, cobj, "InputPath")
	if ferr != nil {
		return nil, "", ferr
	}
	next, ferr := st.choose(eff, cobj)
	if ferr != nil {
		return nil, "", ferr
	}
	out, ferr := st.outputPath.apply(eff, cobj, "OutputPath")
	return out, next, ferr
}

func (x *Execution) waitState(ctx context.Context, th *thread, st *state, input any, cobj *contextObj) (any, *failure) {
	eff, ferr := st.inputPath.apply(input, cobj, "InputPath")
	if ferr != nil {
		return nil, ferr
	}
	now := th.clk().Now()
	var d time.Duration
	switch {
	case st.waitSeconds != nil:
		d = time.Duration(*st.waitSeconds) * time.Second
	case st.waitTimestamp != nil:
		d = st.waitTimestamp.Sub(now)
	case st.waitSecondsPath != nil:
		v, err := st.waitSecondsPath.eval(eff, cobj.value())
		if err != nil {
			return nil, failf(ErrRuntime, "Invalid SecondsPath '%s' in state '%s': %v", st.waitSecondsPath.src, st.name, err)
		}
		n, ok := toInt(v)
		if !ok || n < 0 {
			return nil, failf(ErrRuntime, "SecondsPath '%s' in state '%s' must select a non-negative integer, not %s", st.waitSecondsPath.src, st.name, mustJSON(v))
		}
		d = time.Duration(n) * time.Second
	case st.waitTimestampPath != nil:
		v, err := st.waitTimestampPath.eval(eff, cobj.value())
		if err != nil {
			return nil, failf(ErrRuntime, "Invalid TimestampPath '%s' in state '%s': %v", st.waitTimestampPath.src, st.name, err)
		}
		s, _ := v.(string)
		t, perr := parseTimestamp(s)
		if perr != nil {
			return nil, failf(ErrRuntime, "TimestampPath '%s' in state '%s' must select an RFC 3339 timestamp, not %s", st.waitTimestampPath.src, st.name, mustJSON(v))
		}
		d = t.Sub(now)
	}
	if d > 0 {
		if err := th.sleep(ctx, d); err != nil {
			return nil, &failure{aborted: true}
		}
	}
	return st.outputPath.apply(eff, cobj, "OutputPath")
}

// withRetry runs a Task, Parallel or Map state, applying its Retry and
// Catch fields to failures.
func (x *Execution) withRetry(ctx context.Context, th *thread, st *state, input any, cobj *contextObj) (any, string, *failure) {
	counts := make([]int64, len(st.retry))
	for {
		var out any
		var ferr *failure
		switch st.typ {
		case "Task":
			out, ferr = x.taskAttempt(ctx, th, st, input, cobj)
		case "Parallel":
			out, ferr = x.parallelAttempt(ctx, th, st, input, cobj)
		case "Map":
			out, ferr = x.mapAttempt(ctx, th, st, input, cobj)
		}
		if ferr == nil {
			return out, st.next, nil
		}
		ferr = x.engine.rename(ferr)
		if ferr.aborted {
			return nil, "", ferr
		}
		if i := firstMatch(st.retry, ferr.Name); i >= 0 && counts[i] < st.retry[i].maxAttempts {
			counts[i]++
			d := st.retry[i].delay(counts[i], x.engine.rnd())
			if err := th.sleep(ctx, d); err != nil {
				return nil, "", &failure{aborted: true}
			}
			cobj.retries++
			cobj.cache = nil
			cobj.token = ""
			continue
		}
		for _, k := range st.catch {
			if !matchesError(k.errorEquals, ferr.Name) {
				continue
			}
			errOut := map[string]any{"Error": ferr.Name}
			if ferr.Cause != "" {
				errOut["Cause"] = ferr.Cause
			}
			out, rerr := k.resultPath.apply(input, errOut)
			if rerr != nil {
				return nil, "", rerr
			}
			return out, k.next, nil
		}
		return nil, "", ferr
	}
}

func firstMatch(rs []*retrier, name string) int {
	for i, r := range rs {
		if matchesError(r.errorEquals, name) {
			return i
		}
	}
	return -1
}
