package awsproto

import (
	"context"
	"sync"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
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

// The local cloud's account and region when nobody says otherwise.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
)

// WithDefaults fills what a service's options leave empty: the wall clock,
// DefaultAccount and DefaultRegion.
func WithDefaults(clk clock.Clock, account, region string) (clock.Clock, string, string) {
	if clk == nil {
		clk = clock.Real{}
	}
	if account == "" {
		account = DefaultAccount
	}
	if region == "" {
		region = DefaultRegion
	}
	return clk, account, region
}
