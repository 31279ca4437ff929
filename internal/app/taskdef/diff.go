package taskdef

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// FieldChange is one difference between two task definitions. Path uses
// the SDK's field names; list elements that have a Name (containers,
// volumes, environment variables...) are keyed by it, others by index:
// ContainerDefinitions[web].Image, Volumes[0].Host.SourcePath.
type FieldChange struct {
	Path string
	// Old and New are JSON values; "" means absent.
	Old, New string
}

// Diff lists what registering new instead of old would change, sorted by
// path. Equal inputs give none.
func Diff(old, new *ecs.RegisterTaskDefinitionInput) ([]FieldChange, error) {
	a, err := flatten(old)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	b, err := flatten(new)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	var out []FieldChange
	for p, v := range a {
		if w, ok := b[p]; !ok || w != v {
			out = append(out, FieldChange{Path: p, Old: v, New: w})
		}
	}
	for p, w := range b {
		if _, ok := a[p]; !ok {
			out = append(out, FieldChange{Path: p, New: w})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// flatten maps each leaf of v's JSON form (SDK types marshal with their Go
// field names) to its path.
func flatten(v any) (map[string]string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	out := map[string]string{}
	walk("", tree, out)
	return out, nil
}

func walk(path string, v any, out map[string]string) {
	switch t := v.(type) {
	case nil:
		// absent and null are the same to the API
	case map[string]any:
		for k, c := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(p, c, out)
		}
	case []any:
		names := map[string]bool{}
		keyed := true
		for _, e := range t {
			m, ok := e.(map[string]any)
			n, isStr := m["Name"].(string)
			if !ok || !isStr || names[n] {
				keyed = false
				break
			}
			names[n] = true
		}
		for i, e := range t {
			key := strconv.Itoa(i)
			if keyed {
				key = e.(map[string]any)["Name"].(string)
			}
			walk(path+"["+key+"]", e, out)
		}
	default:
		b, _ := json.Marshal(t)
		out[path] = string(b)
	}
}
