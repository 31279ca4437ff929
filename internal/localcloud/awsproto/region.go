package awsproto

import (
	"context"
	"sync"
)

// Regions picks the region a service call acts in: the request's, or, for
// Go calls from other local services and scenarios that carry no request, a
// default the wiring sets. It has its own lock because services ask for the
// region while holding theirs.
type Regions struct {
	mu  sync.Mutex
	def string
}

// NewRegions returns Regions defaulting to region.
func NewRegions(region string) *Regions { return &Regions{def: region} }

// Of returns the region of the call in ctx.
func (r *Regions) Of(ctx context.Context) string {
	if reg := RequestFrom(ctx).Region; reg != "" {
		return reg
	}
	return r.Default()
}

// Default returns the region of calls that carry none.
func (r *Regions) Default() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.def
}

// SetDefault sets the region of calls that carry none.
func (r *Regions) SetDefault(region string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.def = region
}
