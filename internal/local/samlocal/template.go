// Package samlocal installs pushdeploy's SAM template into the local cloud:
// the same template.yaml that `sam deploy` sends to CloudFormation, read
// here with just enough of CloudFormation's semantics (parameters, Globals,
// intrinsic functions, SAM's function and state machine events) to create the
// functions, rules, state machine and table through the local cloud's APIs.
package samlocal

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed SAM template. Values are decoded YAML (maps, slices,
// strings, numbers, bools) with CloudFormation's short-form tags turned into
// their long form ({"Fn::GetAtt": [...]}, {"Ref": "..."}).
type Template struct {
	Parameters map[string]Parameter
	Conditions map[string]any
	Globals    map[string]map[string]any // "Function" -> properties
	Resources  map[string]Resource
}

// Parameter is a template parameter.
type Parameter struct {
	Type    string
	Default any
}

// Resource is one resource of the template.
type Resource struct {
	Type       string
	Condition  string
	Properties map[string]any
}

// Load reads and parses a template file.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(data)
}

// Parse parses a template.
func Parse(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	doc, err := decode(&root)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template: top level is not a mapping")
	}
	t := &Template{Parameters: map[string]Parameter{}, Globals: map[string]map[string]any{}, Resources: map[string]Resource{}}
	for name, v := range asMap(top["Parameters"]) {
		p := asMap(v)
		t.Parameters[name] = Parameter{Type: asString(p["Type"]), Default: p["Default"]}
	}
	t.Conditions = asMap(top["Conditions"])
	for section, v := range asMap(top["Globals"]) {
		t.Globals[section] = asMap(v)
	}
	for name, v := range asMap(top["Resources"]) {
		r := asMap(v)
		typ := asString(r["Type"])
		if typ == "" {
			return nil, fmt.Errorf("parse template: resource %s has no Type", name)
		}
		t.Resources[name] = Resource{Type: typ, Condition: asString(r["Condition"]), Properties: asMap(r["Properties"])}
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("parse template: no Resources")
	}
	return t, nil
}

// ResourcesOfType lists the logical ids of resources of one type, sorted.
func (t *Template) ResourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// decode turns a YAML node into plain Go values, expanding short-form tags.
func decode(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return decode(n.Content[0])
	case yaml.AliasNode:
		return decode(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := decode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := decode(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	fn := strings.TrimPrefix(n.Tag, "!")
	switch fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + fn: v}, nil
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
