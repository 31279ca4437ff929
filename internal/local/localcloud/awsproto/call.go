package awsproto

import (
	"context"
	"encoding/json"
)

// Call decodes an operation's JSON input into I and runs f on it: the
// dispatch every RPC service's Call does for each of its operations.
func Call[I, O any](ctx context.Context, input json.RawMessage, f func(context.Context, *I) (O, error)) (any, error) {
	in := new(I)
	if err := json.Unmarshal(input, in); err != nil {
		return nil, Errorf("SerializationException", "cannot read the request: %v", err)
	}
	return f(ctx, in)
}
