package states

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
)

// Machine is a parsed, checked definition ready to run.
type Machine struct {
	timeoutSeconds int64
	root           *machineDef
}

type machineDef struct{}

// Parse checks a definition (JSONPath query language) and returns it ready to
// run, or a *DefinitionError listing every problem.
func Parse(definition []byte) (*Machine, error) {
	if !json.Valid(definition) {
		return nil, &DefinitionError{Problems: []string{"definition is not valid JSON"}}
	}
	return &Machine{root: &machineDef{}}, nil
}

func (x *Execution) runMachine(ctx context.Context, th *thread, def *machineDef, input any, item any) (any, *failure) {
	return nil, failf(ErrRuntime, "engine not implemented yet")
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func encodeToken(execID, state string, n uint64) string {
	return execID + "/" + state + "/" + itoa(int64(n))
}
func validToken(t string) bool { return strings.Count(t, "/") >= 2 }
