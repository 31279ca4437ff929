package awsproto

import (
	"context"
	"sync"
)

// Request is what a service may know about the call it is serving.
type Request struct {
	Service   string
	Operation string
	Region    string
	Account   string
	// Hold is the server's hold on the clock while it serves the request.
	Hold *Hold

	mu     sync.Mutex
	fields map[string]string
}

type requestKey struct{}

// WithRequest attaches r to ctx.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request being served, or an empty one.
func RequestFrom(ctx context.Context) *Request {
	if r, ok := ctx.Value(requestKey{}).(*Request); ok {
		return r
	}
	return &Request{}
}

// Note records a key field of the call (cluster, service, taskDefinition...)
// for the call log.
func Note(ctx context.Context, key, value string) {
	r := RequestFrom(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fields == nil {
		r.fields = map[string]string{}
	}
	r.fields[key] = value
}

// Fields returns a copy of the noted fields.
func (r *Request) Fields() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.fields))
	for k, v := range r.fields {
		out[k] = v
	}
	return out
}
