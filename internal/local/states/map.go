package states

import (
	"context"
	"math/big"
	"slices"
)

// mapAttempt runs a Map state once: ItemsPath selects the array from the
// effective input, ItemSelector (or the legacy Parameters) shapes each
// item, the item processor runs per item with at most MaxConcurrency at
// once, and the result is the array of outputs in item order.
func (x *Execution) mapAttempt(ctx context.Context, th *thread, st *state, input any, cobj *contextObj) (any, *failure) {
	eff, ferr := st.inputPath.apply(input, cobj, "InputPath")
	if ferr != nil {
		return nil, ferr
	}
	itemsV := eff
	if st.itemsPath != nil {
		v, err := st.itemsPath.eval(eff, cobj.value())
		if err != nil {
			return nil, failf(ErrRuntime, "Invalid ItemsPath '%s' in state '%s': %v", st.itemsPath.src, st.name, err)
		}
		itemsV = v
	}
	items, ok := itemsV.([]any)
	if !ok {
		return nil, failf(ErrRuntime, "Map state '%s' needs an array to iterate over, got %s", st.name, typeName(itemsV))
	}
	limit := st.maxConcurrency
	if st.maxConcurrencyPath != nil {
		v, err := st.maxConcurrencyPath.eval(eff, cobj.value())
		n, ok := toInt(v)
		if err != nil || !ok || n < 0 {
			return nil, failf(ErrRuntime, "MaxConcurrencyPath '%s' in state '%s' must select a non-negative integer", st.maxConcurrencyPath.src, st.name)
		}
		limit = n
	}
	tol, ferr := st.tolerance.resolve(eff, cobj)
	if ferr != nil {
		return nil, ferr
	}
	inputs := make([]any, len(items))
	for i, it := range items {
		inputs[i] = it
		if st.itemSelector != nil {
			ic := &contextObj{x: x, state: st.name, entered: cobj.entered, retries: cobj.retries, item: &mapItem{index: i, value: it}}
			if inputs[i], ferr = st.itemSelector.eval(eff, ic, "ItemSelector"); ferr != nil {
				return nil, ferr
			}
		}
	}

	x.record(th, HistoryEvent{Type: "MapStateStarted", MapStateStartedEventDetails: &MapStateStartedEventDetails{Length: len(items)}})
	results := make([]any, len(items))
	failed := 0
	var aborted []branchResult
	ferr = x.fanOut(ctx, th, len(items), int(limit),
		func(ctx context.Context, i int, child *thread) (any, *failure) {
			det := &MapIterationEventDetails{Name: st.name, Index: i}
			x.record(child, HistoryEvent{Type: "MapIterationStarted", MapIterationStartedEventDetails: det})
			out, f := x.runMachine(ctx, child, st.processor, inputs[i], nil)
			switch {
			case f == nil:
				x.record(child, HistoryEvent{Type: "MapIterationSucceeded", MapIterationSucceededEventDetails: det})
			case f.aborted:
				// Recorded by the parent, in index order: cancelled
				// iterations wake all at once.
			default:
				x.record(child, HistoryEvent{Type: "MapIterationFailed", MapIterationFailedEventDetails: det})
			}
			return out, f
		},
		func(r branchResult) *failure {
			if r.err == nil {
				results[r.index] = r.out
				return nil
			}
			if r.err.aborted {
				aborted = append(aborted, r)
			}
			if r.err.aborted || tol == nil {
				return r.err
			}
			failed++
			if tol.exceeded(failed, len(items)) {
				return failf(ErrExceedToleratedFailureThreshold, "The specified tolerated failure threshold was exceeded")
			}
			errOut := map[string]any{"Error": r.err.Name}
			if r.err.Cause != "" {
				errOut["Cause"] = r.err.Cause
			}
			results[r.index] = errOut
			return nil
		})
	slices.SortFunc(aborted, func(a, b branchResult) int { return a.index - b.index })
	for _, r := range aborted {
		x.record(&thread{x: x, prev: r.prev}, HistoryEvent{Type: "MapIterationAborted",
			MapIterationAbortedEventDetails: &MapIterationEventDetails{Name: st.name, Index: r.index}})
	}
	if ferr != nil {
		if !ferr.aborted {
			x.record(th, HistoryEvent{Type: "MapStateFailed"})
		}
		return nil, ferr
	}
	x.record(th, HistoryEvent{Type: "MapStateSucceeded"})
	return x.finishResult(st, input, results, cobj)
}

// resolvedTolerance is a Map's failure tolerance with its paths read.
type resolvedTolerance struct {
	count *int64
	pct   *big.Rat
}

func (t *tolerance) resolve(data any, cobj *contextObj) (*resolvedTolerance, *failure) {
	if t == nil {
		return nil, nil
	}
	r := &resolvedTolerance{count: t.count}
	if t.pct != nil {
		r.pct = new(big.Rat).SetFloat64(*t.pct)
	}
	if t.countPath != nil {
		v, err := t.countPath.eval(data, cobj.value())
		n, ok := toInt(v)
		if err != nil || !ok || n < 0 {
			return nil, failf(ErrRuntime, "ToleratedFailureCountPath '%s' must select a non-negative integer", t.countPath.src)
		}
		r.count = &n
	}
	if t.pctPath != nil {
		v, err := t.pctPath.eval(data, cobj.value())
		p, ok := toRat(v)
		if err != nil || !ok || p.Sign() < 0 || p.Cmp(big.NewRat(100, 1)) > 0 {
			return nil, failf(ErrRuntime, "ToleratedFailurePercentagePath '%s' must select a number from 0 to 100", t.pctPath.src)
		}
		r.pct = p
	}
	return r, nil
}

// exceeded reports whether failed of total items is more than tolerated.
func (t *resolvedTolerance) exceeded(failed, total int) bool {
	if t.count != nil && int64(failed) > *t.count {
		return true
	}
	if t.pct != nil && total > 0 {
		got := big.NewRat(int64(failed)*100, int64(total))
		if got.Cmp(t.pct) > 0 {
			return true
		}
	}
	return false
}
