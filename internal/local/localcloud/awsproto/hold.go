package awsproto

import "sync"

// Hold is the server's hold on the clock (clock.Busy) for one request. A
// service that manages its own holds for long work (Lambda's Invoke, which
// lets go while the function waits on a call of its own) takes it and
// gives one back before it returns.
type Hold struct {
	mu   sync.Mutex
	done func()
}

// NewHold wraps a release func.
func NewHold(done func()) *Hold { return &Hold{done: done} }

// Take empties the hold and returns its release func, or nil when there is
// none (no server, or taken already). The caller must call it.
func (h *Hold) Take() func() {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	done := h.done
	h.done = nil
	return done
}

// Give puts a hold back, released with the request.
func (h *Hold) Give(done func()) {
	h.mu.Lock()
	old := h.done
	h.done = done
	h.mu.Unlock()
	if old != nil {
		old()
	}
}

// Release lets go of the hold, if any.
func (h *Hold) Release() {
	if done := h.Take(); done != nil {
		done()
	}
}
